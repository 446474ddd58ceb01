import { Args, Flags } from '@oclif/core';
import { applyConfigChanges } from '../builder/config-changes.js';
import { DevboxCommand } from '../cli/base-command.js';
import { importRootfs } from '../image/import.js';
import { ImageStore } from '../image/store.js';

export default class Import extends DevboxCommand {
  static summary = 'Create an image from a root file system tar (a file, or - for stdin), as docker import does';
  static description =
    "The tar becomes the image's one layer. --change applies Dockerfile instructions to its configuration: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.";
  static aliases = ['image:import'];
  static examples = [
    '<%= config.bin %> import rootfs.tar myimage',
    '<%= config.bin %> export web | <%= config.bin %> import - web-snapshot:1',
    '<%= config.bin %> import --change "CMD [\\"/bin/sh\\"]" -m "from a tar" rootfs.tar.gz base:1',
  ];
  static args = {
    file: Args.string({ description: 'root file system tar (plain, gzip or zstd), or - for stdin', required: true }),
    name: Args.string({ description: 'REPOSITORY[:TAG] for the image (none: an image without a name)' }),
  };
  static flags = {
    change: Flags.string({ char: 'c', description: 'apply a Dockerfile instruction to the image (repeatable)', multiple: true, multipleNonGreedy: true }),
    message: Flags.string({ char: 'm', description: 'comment for the image history' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Import);
    const changes = flags.change ?? [];
    const edit = (config: Parameters<typeof applyConfigChanges>[0]) => applyConfigChanges(config, changes);
    edit({ architecture: '', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }); // a bad change is refused before anything is read
    const source = args.file === '-' ? { stream: process.stdin, name: 'stdin' } : args.file;
    const image = await importRootfs(ImageStore.open(), source, args.name, { message: flags.message, edit });
    this.log(image.id);
  }
}
