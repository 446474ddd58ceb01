/**
 * How an unpacked layer is laid out on disk, shared by the unpacker (image/) and the backends (storage/).
 * One format serves kernel overlayfs (mounted with `userxattr`) and fuse-overlayfs alike:
 * - a whiteout is a character device 0/0 (mknod by root of the user namespace, allowed since Linux 5.8);
 * - an opaque directory carries the xattr user.overlay.opaque="y";
 * - FIFOs, whiteouts and xattrs are made by the helper's fsops mode, since Node.js cannot.
 * Per layer a record (JSON) lists what a plain directory walk cannot see: opaque dirs and xattrs.
 */
export const OPAQUE_XATTR = 'user.overlay.opaque';

/** OCI whiteout prefixes (image-spec layer.md). */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';

/**
 * Extended attributes a layer tar may never set: they are overlay metadata, and a layer that carries them
 * could forge opaque dirs, redirects or fake ownership (containers/storage drops user.overlay.* the same way).
 */
export const RESERVED_XATTR_PREFIXES = ['user.overlay.', 'trusted.overlay.', 'user.fuseoverlayfs.', 'user.containers.', 'trusted.', 'security.selinux'];

export function isReservedXattr(name: string): boolean {
  return RESERVED_XATTR_PREFIXES.some((p) => name.startsWith(p));
}

export interface LayerXattr {
  /** Path relative to the layer root, without a leading slash. */
  path: string;
  name: string;
  /** Value, hex-encoded. */
  value: string;
}

/** Written beside each unpacked layer as `<diffID hex>.json`; its presence marks the layer complete. */
export interface LayerRecord {
  diffID: string;
  /** Bytes of the uncompressed tar stream. */
  size: number;
  /** Directories (relative paths) marked opaque. */
  opaqueDirs: string[];
  xattrs: LayerXattr[];
}
