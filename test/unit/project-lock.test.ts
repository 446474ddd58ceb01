import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { buildImageReferences } from '../../src/builder/builder.js';
import { formatLock, readLock } from '../../src/project/lock-file.js';
import { errorLine, projectDir } from '../helpers/project.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

test('devbox.lock: sorted keys, two-space indent, final newline; read back as written; no file is an empty lock', () => {
  const text = formatLock({ images: { 'localhost/base:1': { local: true }, 'docker.io/library/debian:12': { digest: DIGEST } }, features: {} });
  assert.is(
    text,
    `{\n  "lockfileVersion": 1,\n  "images": {\n    "docker.io/library/debian:12": {\n      "digest": "${DIGEST}"\n    },\n    "localhost/base:1": {\n      "local": true\n    }\n  }\n}\n`,
  );
  const root = projectDir({ 'devbox.lock': text });
  assert.equal(readLock(root).images, { 'docker.io/library/debian:12': { digest: DIGEST }, 'localhost/base:1': { local: true } });
  assert.equal(readLock(projectDir()).images, {});
});

test('devbox.lock: Features pinned beside images, left out while there are none', () => {
  const features = { 'ghcr.io/devcontainers/features/node:1': { digest: DIGEST }, 'https://example.com/devcontainer-feature-x.tgz': { digest: DIGEST } };
  const text = formatLock({ images: {}, features });
  assert.ok(text.includes('"features": {\n    "ghcr.io/devcontainers/features/node:1": {'), text);
  assert.equal(readLock(projectDir({ 'devbox.lock': text })).features, features);
  assert.not.ok(formatLock({ images: {}, features: {} }).includes('features'));
});

test('devbox.lock errors point at file:line:col', async () => {
  const lockAt = (text: string) => {
    const root = projectDir({ 'devbox.lock': text });
    return { path: join(root, 'devbox.lock'), read: () => readLock(root) };
  };
  const both = lockAt(`{ "lockfileVersion": 1,\n  "images": { "docker.io/library/a:1": { "digest": "${DIGEST}", "local": true } } }`);
  assert.is(
    await errorLine(both.read),
    `${both.path}:2:40: "images.docker.io/library/a:1" needs either "digest" or "local": true (fix it, or remove it and devbox writes it again)`,
  );
  const version = lockAt('{ "lockfileVersion": 2, "images": {} }');
  assert.is(await errorLine(version.read), `${version.path}:1:22: "lockfileVersion" must be one of 1, not 2`);
  const unknown = lockAt('{ "lockfileVersion": 1, "images": {}, "extra": 1 }');
  assert.match(await errorLine(unknown.read), new RegExp(`^${unknown.path}:1:39: "extra" is not a known key`));
});

test('the images a Dockerfile names: FROM and COPY --from after ARG expansion, of the stages the target needs only', async () => {
  const root = projectDir({
    Dockerfile: [
      'ARG BASE=debian:12',
      'FROM ${BASE} AS base',
      'FROM golang:1.22 AS tools',
      'FROM alpine:3 AS unused',
      'FROM base AS dev',
      'COPY --from=tools /usr/local/go /usr/local/go',
      'COPY --from=ghcr.io/org/lint:2 /lint /usr/bin/lint',
      'COPY --from=0 /etc/os-release /',
      'FROM scratch AS other',
      '',
    ].join('\n'),
  });
  const refs = (target?: string, buildArgs: string[] = []) => buildImageReferences({ context: root, buildArgs, target });
  assert.equal(await refs('dev'), ['debian:12', 'golang:1.22', 'ghcr.io/org/lint:2']);
  assert.equal(await refs('dev', ['BASE=ubuntu:24.04']), ['ubuntu:24.04', 'golang:1.22', 'ghcr.io/org/lint:2']);
  assert.equal(await refs(), []);
});

test.run();
