import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { imageHistory } from '../../src/image/history.js';
import type { ImageConfig, ImageManifest } from '../../src/image/oci.js';
import type { StoredImage } from '../../src/image/store.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function image(history: ImageConfig['history'], layerSizes: number[]): StoredImage {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest('c'), size: 1 },
    layers: layerSizes.map((size, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digest(String(i)), size })),
  };
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history };
  return { id: digest('c'), names: [], manifestDigest: digest('m'), manifest, config };
}

test('history: newest first, empty_layer steps have no size, layers pair with the steps that made them', () => {
  const rows = imageHistory(
    image(
      [
        { created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs.tar /' },
        { created_by: 'ENV A=1', empty_layer: true },
        { created_by: 'RUN make', comment: 'buildkit' },
        { created_by: 'CMD ["sh"]', empty_layer: true },
      ],
      [100, 7],
    ),
  );
  assert.equal(
    rows.map((r) => [r.id, r.createdBy, r.size, r.comment]),
    [
      [digest('c'), 'CMD ["sh"]', 0, ''],
      [undefined, 'RUN make', 7, 'buildkit'],
      [undefined, 'ENV A=1', 0, ''],
      [undefined, 'ADD rootfs.tar /', 100, ''],
    ],
  );
});

test('history: an image without history shows one row per layer', () => {
  assert.equal(
    imageHistory(image(undefined, [5, 6])).map((r) => r.size),
    [6, 5],
  );
});

test.run();
