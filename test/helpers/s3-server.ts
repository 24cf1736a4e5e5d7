/**
 * A small S3 protocol server on loopback for the tests, holding objects in memory. No real S3
 * server (MinIO, Garage, Ceph) installs on this machine, and the S3 emulator on npm, s3rver 3.7,
 * does not follow the protocol the AWS SDK v3 speaks today: it stores the aws-chunked encoding of a
 * streamed PUT as the object's bytes, fails ListObjectsV2 with `max-keys`, and does not decode an
 * URL-encoded `x-amz-copy-source`. So this server implements, from the S3 API reference, exactly
 * the subset Keel's store uses, path-style only:
 *
 * PutObject (plain, or `aws-chunked` with trailing checksums, as the SDK sends
 * streams), GetObject, HeadObject, CopyObject, DeleteObject, DeleteObjects and ListObjectsV2
 * (prefix, delimiter, max-keys, continuation-token, start-after, encoding-type=url).
 *
 * Every request must carry a valid AWS Signature Version 4 in its Authorization header for the one
 * access key it knows, so a client with other credentials is refused as S3 refuses it (403
 * SignatureDoesNotMatch / InvalidAccessKeyId). A signed payload hash and CRC32/SHA-256 checksums
 * (header or trailer) are verified; chunk signatures of signed streaming uploads are not.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

export interface S3Object {
  body: Buffer;
  etag: string;
  lastModified: Date;
}

export interface TestS3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Buckets by name, each its objects by key: what the server holds. */
  buckets: Map<string, Map<string, S3Object>>;
  /** Requests served, by operation name (`PutObject`, `ListObjectsV2`, ...); `aws-chunked` counts such bodies. */
  operations: Map<string, number>;
  /** The environment a `keel` child process needs to reach the server with these credentials. */
  env: Record<string, string>;
  close(): Promise<void>;
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const xmlUnescape = (s: string) =>
  s.replace(
    /&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-f]+));/gi,
    (_m, name: string, dec?: string, hex?: string) => {
      if (dec) return String.fromCodePoint(Number(dec));
      if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
      return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[name.toLowerCase()] ?? '';
    },
  );

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
const uriEncode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

const xmlDoc = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Decodes an `aws-chunked` body: `<hex size>[;ext]\r\n<bytes>\r\n ... 0\r\n<trailers>\r\n\r\n`. */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Map<string, string> } {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) throw new S3Error(400, 'IncompleteBody', 'aws-chunked body ends inside a chunk header');
    const size = Number.parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0], 16);
    if (!Number.isFinite(size)) throw new S3Error(400, 'InvalidRequest', 'aws-chunked chunk size is not hex');
    at = eol + 2;
    if (size === 0) break;
    parts.push(raw.subarray(at, at + size));
    at += size;
    if (raw.subarray(at, at + 2).toString('latin1') !== '\r\n')
      throw new S3Error(400, 'IncompleteBody', 'aws-chunked chunk is not followed by CRLF');
    at += 2;
  }
  const trailers = new Map<string, string>();
  for (const line of raw.subarray(at).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { body: Buffer.concat(parts), trailers };
}

/** Checks the `x-amz-checksum-*` values (header or trailer) this server can compute. */
function verifyChecksums(body: Buffer, values: Map<string, string>): void {
  const computed: Record<string, () => string> = {
    'x-amz-checksum-crc32': () => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc32(body) >>> 0);
      return b.toString('base64');
    },
    'x-amz-checksum-sha256': () => createHash('sha256').update(body).digest('base64'),
    'x-amz-checksum-sha1': () => createHash('sha1').update(body).digest('base64'),
  };
  for (const [name, value] of values) {
    const compute = computed[name];
    if (compute && compute() !== value)
      throw new S3Error(
        400,
        'BadDigest',
        `The ${name.slice(15)} you specified did not match the calculated checksum.`,
      );
  }
  const md5 = values.get('content-md5');
  if (md5 && createHash('md5').update(body).digest('base64') !== md5)
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what was received.');
}

/**
 * Starts the server on 127.0.0.1 with its buckets (`keel-test`, unless named) made; no request
 * makes or removes one. Credentials are fresh per server.
 */
export async function startS3Server(
  options: { buckets?: string[]; region?: string } = {},
): Promise<TestS3Server> {
  const accessKeyId = `KEELTEST${Math.random().toString(36).slice(2, 10).toUpperCase()}`;
  const secretAccessKey = createHash('sha256').update(String(Math.random())).digest('base64');
  const region = options.region ?? 'us-east-1';
  const buckets = new Map<string, Map<string, S3Object>>();
  for (const b of options.buckets ?? ['keel-test']) buckets.set(b, new Map());
  const operations = new Map<string, number>();
  const count = (op: string) => operations.set(op, (operations.get(op) ?? 0) + 1);

  /** Verifies the request's SigV4 signature against the raw bytes of its payload. */
  function authenticate(req: IncomingMessage, url: URL, rawPath: string): void {
    const auth = req.headers.authorization ?? '';
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m) throw new S3Error(403, 'AccessDenied', 'Requests must be signed with AWS Signature Version 4');
    const [, akid, date, reqRegion, signedHeaders, signature] = m;
    if (akid !== accessKeyId)
      throw new S3Error(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => [uriEncode(k), uriEncode(v)])
      .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headers = signedHeaders
      .split(';')
      .map((h) => {
        const v = req.headers[h];
        return `${h}:${(Array.isArray(v) ? v.join(',') : (v ?? '')).trim().replace(/\s+/g, ' ')}\n`;
      })
      .join('');
    const canonical = [req.method, rawPath, query, headers, signedHeaders, payloadHash].join('\n');
    const scope = `${date}/${reqRegion}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), reqRegion), 's3'), 'aws4_request');
    const expected = hmac(key, toSign);
    if (reqRegion !== region || !timingSafeEqual(expected, Buffer.from(signature, 'hex')))
      throw new S3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
  }

  /** The object's bytes as sent, after aws-chunked decoding and checksum checks. */
  async function payload(req: IncomingMessage): Promise<Buffer> {
    const raw = await readBody(req);
    const declared = String(req.headers['x-amz-content-sha256'] ?? '');
    const headerSums = new Map(
      Object.entries(req.headers)
        .filter(([k]) => k.startsWith('x-amz-checksum-') || k === 'content-md5')
        .map(([k, v]) => [k, String(v)]),
    );
    if (
      declared.startsWith('STREAMING-') ||
      String(req.headers['content-encoding'] ?? '').includes('aws-chunked')
    ) {
      count('aws-chunked');
      const { body, trailers } = decodeAwsChunked(raw);
      const length = req.headers['x-amz-decoded-content-length'];
      if (length !== undefined && Number(length) !== body.length)
        throw new S3Error(
          400,
          'IncompleteBody',
          'The request body is shorter than x-amz-decoded-content-length',
        );
      verifyChecksums(body, new Map([...headerSums, ...trailers]));
      return body;
    }
    if (/^[0-9a-f]{64}$/.test(declared) && sha256Hex(raw) !== declared)
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        'The provided x-amz-content-sha256 does not match what was computed.',
      );
    verifyChecksums(raw, headerSums);
    return raw;
  }

  const bucketOf = (name: string) => {
    const b = buckets.get(name);
    if (!b) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    return b;
  };
  const objectOf = (bucket: string, key: string) => {
    const o = bucketOf(bucket).get(key);
    if (!o) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    return o;
  };
  const store = (bucket: string, key: string, body: Buffer): S3Object => {
    if (Buffer.byteLength(key) > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
    const o = { body, etag: `"${createHash('md5').update(body).digest('hex')}"`, lastModified: new Date() };
    bucketOf(bucket).set(key, o);
    return o;
  };
  const objectHeaders = (o: S3Object) => ({
    'content-type': 'application/octet-stream',
    'content-length': String(o.body.length),
    etag: o.etag,
    'last-modified': o.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
  });

  function listV2(bucket: string, q: URLSearchParams): string {
    const objects = bucketOf(bucket);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = Math.min(1000, Number(q.get('max-keys') ?? 1000));
    if (!Number.isInteger(maxKeys) || maxKeys < 0)
      throw new S3Error(400, 'InvalidArgument', 'max-keys is not valid');
    const token = q.get('continuation-token');
    const startAfter = q.get('start-after') ?? '';
    const urlEncode = q.get('encoding-type') === 'url';
    let resume: { after: string; folder: boolean } = { after: startAfter, folder: false };
    if (token) {
      try {
        resume = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
      }
    }
    // S3 lists in UTF-8 binary order.
    const keys = [...objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const contents: string[] = [];
    const folders: string[] = [];
    let last: { after: string; folder: boolean } | undefined;
    let truncated = false;
    for (const key of keys) {
      if (Buffer.compare(Buffer.from(key), Buffer.from(resume.after)) <= 0) continue;
      if (resume.folder && key.startsWith(resume.after)) continue;
      const rest = key.slice(prefix.length);
      const cut = delimiter ? rest.indexOf(delimiter) : -1;
      const folder = cut >= 0 ? prefix + rest.slice(0, cut + delimiter.length) : undefined;
      if (folder !== undefined && folders.at(-1) === folder) continue;
      if (contents.length + folders.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (folder !== undefined) {
        folders.push(folder);
        last = { after: folder, folder: true };
      } else {
        contents.push(key);
        last = { after: key, folder: false };
      }
    }
    const enc = (s: string) => xmlEscape(urlEncode ? uriEncode(s).replace(/%2F/g, '/') : s);
    const parts = [
      `<Name>${xmlEscape(bucket)}</Name>`,
      `<Prefix>${enc(prefix)}</Prefix>`,
      `<KeyCount>${contents.length + folders.length}</KeyCount>`,
      `<MaxKeys>${maxKeys}</MaxKeys>`,
      delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : '',
      urlEncode ? '<EncodingType>url</EncodingType>' : '',
      `<IsTruncated>${truncated}</IsTruncated>`,
      token ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '',
      truncated && last
        ? `<NextContinuationToken>${Buffer.from(JSON.stringify(last)).toString('base64url')}</NextContinuationToken>`
        : '',
      startAfter ? `<StartAfter>${enc(startAfter)}</StartAfter>` : '',
      ...contents.map((k) => {
        const o = objects.get(k)!;
        return `<Contents><Key>${enc(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      }),
      ...folders.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`),
    ];
    return xmlDoc(`<ListBucketResult ${NS}>${parts.join('')}</ListBucketResult>`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const rawPath = rawUrl.split('?')[0];
    const url = new URL(rawUrl, 'http://localhost');
    // The signature covers the payload hash header, so it is checked before the body is read.
    authenticate(req, url, rawPath);
    const slash = rawPath.indexOf('/', 1);
    const bucket = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
    const key = slash < 0 ? '' : decodeURIComponent(rawPath.slice(slash + 1));
    const q = url.searchParams;
    const send = (status: number, body = '', headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...(body ? { 'content-type': 'application/xml' } : {}), ...headers });
      res.end(body);
    };
    if (bucket === '') throw new S3Error(501, 'NotImplemented', 'ListBuckets is not implemented here');
    if (key === '') {
      if (req.method === 'GET' && q.get('list-type') === '2') {
        count('ListObjectsV2');
        return send(200, listV2(bucket, q));
      }
      if (req.method === 'POST' && q.has('delete')) {
        count('DeleteObjects');
        const objects = bucketOf(bucket);
        const xml = (await payload(req)).toString('utf8');
        const quiet = /<Quiet>\s*true\s*<\/Quiet>/.test(xml);
        const keys = [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((k) => xmlUnescape(k[1]));
        if (keys.length > 1000) throw new S3Error(400, 'MalformedXML', 'At most 1000 keys per DeleteObjects');
        for (const k of keys) objects.delete(k);
        const deleted = quiet
          ? ''
          : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('');
        return send(200, xmlDoc(`<DeleteResult ${NS}>${deleted}</DeleteResult>`));
      }
      throw new S3Error(
        501,
        'NotImplemented',
        `${req.method} on a bucket with ${url.search} is not implemented here`,
      );
    }
    if ([...q.keys()].some((k) => k !== 'x-id'))
      throw new S3Error(
        501,
        'NotImplemented',
        `Object sub-resources (${url.search}) are not implemented here`,
      );
    switch (req.method) {
      case 'PUT': {
        const copySource = req.headers['x-amz-copy-source'];
        if (copySource !== undefined) {
          count('CopyObject');
          await readBody(req);
          const source = decodeURIComponent(String(copySource).split('?')[0]).replace(/^\//, '');
          const cut = source.indexOf('/');
          const from = objectOf(source.slice(0, cut), source.slice(cut + 1));
          const o = store(bucket, key, from.body);
          return send(
            200,
            xmlDoc(
              `<CopyObjectResult ${NS}><ETag>${xmlEscape(o.etag)}</ETag><LastModified>${o.lastModified.toISOString()}</LastModified></CopyObjectResult>`,
            ),
          );
        }
        count('PutObject');
        bucketOf(bucket);
        const o = store(bucket, key, await payload(req));
        return send(200, '', { etag: o.etag });
      }
      case 'GET': {
        count('GetObject');
        const o = objectOf(bucket, key);
        res.writeHead(200, objectHeaders(o));
        res.end(o.body);
        return;
      }
      case 'HEAD': {
        count('HeadObject');
        const o = objectOf(bucket, key);
        res.writeHead(200, objectHeaders(o));
        res.end();
        return;
      }
      case 'DELETE':
        count('DeleteObject');
        bucketOf(bucket).delete(key);
        return send(204);
      default:
        throw new S3Error(405, 'MethodNotAllowed', `${req.method} is not allowed on an object`);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', String(err));
      // Drain what the client still sends, so it reads the error instead of a reset.
      req.resume();
      if (res.headersSent) return res.destroy();
      res.writeHead(e.status, { 'content-type': 'application/xml' });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : xmlDoc(
              `<Error><Code>${e.code}</Code><Message>${xmlEscape(e.message)}</Message><Resource>${xmlEscape(req.url ?? '')}</Resource><RequestId>keel-test</RequestId></Error>`,
            ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    buckets,
    operations,
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
