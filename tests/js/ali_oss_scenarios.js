// ali-oss (the official Node.js and browser SDK) driven against an OSS endpoint.
//
// Run by tests/test_ali_oss.py: node ali_oss_scenarios.js V1|V4 FILE. The endpoint, region,
// keys and bucket come from OSS_ENDPOINT, OSS_REGION, OSS_ACCESS_KEY_ID,
// OSS_ACCESS_KEY_SECRET and OSSNB_BUCKET. Each step prints one JSON line of what the SDK
// saw; the Python test judges those facts against its own (MD5s, the server's bytes).
'use strict';
const fs = require('fs');
const OSS = require('ali-oss');

const [signature, file] = process.argv.slice(2);
const env = process.env;
const PART = 256 * 1024;

function client(secret = env.OSS_ACCESS_KEY_SECRET, endpoint = env.OSS_ENDPOINT) {
  return new OSS({
    region: `oss-${env.OSS_REGION}`,
    accessKeyId: env.OSS_ACCESS_KEY_ID,
    accessKeySecret: secret,
    bucket: env.OSSNB_BUCKET,
    endpoint,
    sldEnable: true, // path style: an IP endpoint otherwise names no bucket at all
    authorizationV4: signature === 'V4',
    retryMax: 0,
  });
}

function emit(step, facts) {
  process.stdout.write(JSON.stringify({ step, ...facts }) + '\n');
}

function failure(error) {
  return { name: error.name, code: error.code, status: error.status };
}

async function expectError(step, action) {
  try {
    await action();
    emit(step, { error: null });
  } catch (error) {
    emit(step, { error: failure(error) });
  }
}

function asList(value) {
  // the SDK's XML reader gives one element as an object and several as an array
  if (!value) return [];
  return Array.isArray(value) ? value : [value];
}

async function main() {
  const oss = client();
  const prefix = `ali-oss/${signature}/`;
  const data = fs.readFileSync(file);

  const put = await oss.put(`${prefix}small.txt`, Buffer.from('hello from ali-oss'));
  emit('put', { status: put.res.status, etag: put.res.headers.etag });
  const got = await oss.get(`${prefix}small.txt`);
  emit('get', { status: got.res.status, text: got.content.toString() });

  // the SDK's own resumable upload: parallel parts, a checkpoint after each part
  const parts = {};
  const done = await oss.multipartUpload(`${prefix}whole.bin`, file, {
    partSize: PART,
    parallel: 3,
    progress: (_fraction, checkpoint) => {
      if (checkpoint) for (const p of checkpoint.doneParts) parts[p.number] = p.etag;
    },
  });
  emit('multipartUpload', { status: done.res.status, etag: done.etag, parts });
  const head = await oss.head(`${prefix}whole.bin`);
  emit('head', {
    status: head.status,
    length: Number(head.res.headers['content-length']),
    crc64: head.res.headers['x-oss-hash-crc64ecma'],
  });

  // stopped after its first parts (a closed laptop), then resumed from the checkpoint
  let saved = null;
  const resumer = client();
  await expectError('cancelled', () =>
    resumer.multipartUpload(`${prefix}resumed.bin`, file, {
      partSize: PART,
      parallel: 1,
      progress: (_fraction, checkpoint) => {
        if (checkpoint && checkpoint.doneParts.length >= 2 && !saved) {
          saved = JSON.parse(JSON.stringify(checkpoint));
          resumer.cancel();
        }
      },
    }),
  );
  const held = await oss.listParts(`${prefix}resumed.bin`, saved.uploadId);
  const before = saved.doneParts.map((p) => p.number);
  const sent = new Set();
  const resumed = await client().multipartUpload(`${prefix}resumed.bin`, file, {
    partSize: PART,
    parallel: 2,
    checkpoint: saved, // the SDK adds the parts it sends to this object
    progress: (_fraction, checkpoint) => {
      if (checkpoint) for (const p of checkpoint.doneParts) if (!before.includes(p.number)) sent.add(p.number);
    },
  });
  emit('resumed', {
    status: resumed.res.status,
    uploadId: saved.uploadId,
    checkpointed: before,
    held: asList(held.parts).map((p) => Number(p.PartNumber)),
    sent: [...sent].sort((a, b) => a - b),
    etag: resumed.etag,
  });

  // step by step, as the course teaches it
  const key = `${prefix}steps.bin`;
  const init = await oss.initMultipartUpload(key);
  const one = await oss.uploadPart(key, init.uploadId, 1, file, 0, PART);
  const two = await oss.uploadPart(key, init.uploadId, 2, file, PART, 2 * PART);
  const listed = await oss.listParts(key, init.uploadId);
  const uploads = await oss.listUploads({ prefix: key });
  emit('steps', {
    uploadId: init.uploadId,
    etags: [one.etag, two.etag],
    listed: asList(listed.parts).map((p) => ({ number: Number(p.PartNumber), etag: p.ETag, size: Number(p.Size) })),
    uploads: asList(uploads.uploads).map((u) => u.uploadId),
  });
  const complete = await oss.completeMultipartUpload(key, init.uploadId, [
    { number: 1, etag: one.etag },
    { number: 2, etag: two.etag },
  ]);
  emit('complete', { status: complete.res.status, etag: complete.etag });

  const dropped = await oss.initMultipartUpload(`${prefix}dropped.bin`);
  await oss.uploadPart(`${prefix}dropped.bin`, dropped.uploadId, 1, file, 0, PART);
  const aborted = await oss.abortMultipartUpload(`${prefix}dropped.bin`, dropped.uploadId);
  emit('abort', { status: aborted.res.status });
  await expectError('listParts after abort', () => oss.listParts(`${prefix}dropped.bin`, dropped.uploadId));

  // a part sent through a presigned URL, as a browser page would (no keys on the page)
  const viaUrl = await oss.initMultipartUpload(`${prefix}presigned.bin`);
  const query = { partNumber: 1, uploadId: viaUrl.uploadId };
  // V1 URLs: the SDK refuses an IP endpoint ("can not get the object URL"), so a host name
  const named = client(undefined, env.OSS_ENDPOINT.replace('127.0.0.1', 'localhost'));
  const url =
    signature === 'V4'
      ? await oss.signatureUrlV4('PUT', 600, { queries: query }, `${prefix}presigned.bin`)
      : named.signatureUrl(`${prefix}presigned.bin`, { method: 'PUT', expires: 600, subResource: query });
  const answer = await fetch(url, { method: 'PUT', body: data.subarray(0, PART) });
  emit('presigned part', { status: answer.status, etag: answer.headers.get('etag'), secretInUrl: url.includes(env.OSS_ACCESS_KEY_SECRET) });
  await oss.abortMultipartUpload(`${prefix}presigned.bin`, viaUrl.uploadId);

  // a part copied from an object on the server, and the rest of what a course touches
  const copyKey = `${prefix}copied.bin`;
  const copying = await oss.initMultipartUpload(copyKey);
  const source = { sourceKey: `${prefix}whole.bin`, sourceBucketName: env.OSSNB_BUCKET };
  const copied = await oss.uploadPartCopy(copyKey, copying.uploadId, 1, `0-${PART - 1}`, source);
  const last = await oss.uploadPart(copyKey, copying.uploadId, 2, file, PART, PART + 100);
  const joined = await oss.completeMultipartUpload(copyKey, copying.uploadId, [
    { number: 1, etag: copied.res.headers.etag },
    { number: 2, etag: last.etag },
  ]);
  emit('uploadPartCopy', { status: joined.res.status, etag: copied.res.headers.etag });
  const range = await oss.get(`${prefix}whole.bin`, { headers: { Range: 'bytes=10-19' } });
  emit('range', { status: range.res.status, bytes: [...range.content] });
  const tree = await oss.list({ prefix, delimiter: '/' });
  emit('list', { objects: asList(tree.objects).map((o) => o.name).sort() });
  const removed = await oss.deleteMulti([`${prefix}small.txt`, `${prefix}never-was.txt`], { quiet: false });
  emit('deleteMulti', { deleted: asList(removed.deleted).map((d) => d.Key).sort() });
  await expectError('CopyObject (not emulated)', () => oss.copy(`${prefix}copy.bin`, `${prefix}whole.bin`));

  await expectError('wrong Content-MD5', () =>
    oss.put(`${prefix}digest.txt`, Buffer.from('body'), { headers: { 'Content-MD5': '1B2M2Y8AsgTpgAmY7PhCfg==' } }),
  );
  await expectError('missing object', () => oss.get(`${prefix}nothing-here`));
  await expectError('wrong secret', () => client('not-the-secret').put(`${prefix}denied.txt`, Buffer.from('x')));
}

main().catch((error) => {
  process.stderr.write(`ali-oss scenario failed: ${error.stack || error}\n`);
  process.exit(1);
});
