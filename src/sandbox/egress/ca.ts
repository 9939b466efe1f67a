import { generateKeyPair, generateKeyPairSync, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { codeOf } from '../../error-info.js';

/**
 * The installation's egress certificate authority: the egress proxy terminates TLS with it for
 * the hosts where it must see requests (credential hosts, repository hosts), and sandboxes trust
 * it. Created once per data dir (`egress-ca.pem`: key and certificate, mode 0600, never inside a
 * sandbox; nodes sharing a data dir share it); leaf certificates are minted per host on demand
 * and kept in memory. X.509 encoding and signing is node-forge's; keys come from Node's crypto.
 */
export const CA_FILE = 'egress-ca.pem';

const CA_YEARS = 10;
const LEAF_DAYS = 90;
/** Hosts whose leaf stays cached; past it the oldest is minted again when next needed. */
const MAX_LEAVES = 512;

const pemBlock = (text: string, label: string): string | undefined => new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`).exec(text)?.[0];

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f; // positive
  return b.toString('hex');
}

export class EgressCA {
  private readonly key: forge.pki.rsa.PrivateKey;
  private readonly cert: forge.pki.Certificate;
  private readonly leaves = new Map<string, Promise<tls.SecureContext>>();
  private leafKey?: Promise<{ pem: string; forge: forge.pki.rsa.PublicKey }>;

  private constructor(
    keyPem: string,
    readonly certPem: string,
  ) {
    this.key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    this.cert = forge.pki.certificateFromPem(certPem);
  }

  /** Loads the data dir's CA, creating it on first use (two nodes racing keep one). */
  static load(dataDir: string): EgressCA {
    const file = path.join(dataDir, CA_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
      text = createCa(file);
    }
    const key = pemBlock(text, 'PRIVATE KEY');
    const cert = pemBlock(text, 'CERTIFICATE');
    if (!key || !cert) throw new Error(`${file} must hold the egress CA's private key and certificate (PEM); remove it to have a new CA made`);
    return new EgressCA(key, cert);
  }

  /** A TLS server context presenting a certificate for `host` (a name or an address), signed by this CA. */
  contextFor(host: string): Promise<tls.SecureContext> {
    let ctx = this.leaves.get(host);
    if (ctx) {
      // Most recently used last: the map's order is the eviction order.
      this.leaves.delete(host);
      this.leaves.set(host, ctx);
      return ctx;
    }
    ctx = this.mint(host);
    ctx.catch(() => this.leaves.delete(host));
    this.leaves.set(host, ctx);
    if (this.leaves.size > MAX_LEAVES) this.leaves.delete(this.leaves.keys().next().value!);
    return ctx;
  }

  private async mint(host: string): Promise<tls.SecureContext> {
    this.leafKey ??= promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    }).then(({ publicKey, privateKey }) => ({ pem: privateKey, forge: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey }));
    const leafKey = await this.leafKey;
    const cert = forge.pki.createCertificate();
    cert.publicKey = leafKey.forge;
    cert.serialNumber = serial();
    // A day of slack for clocks that are a little behind.
    cert.validity.notBefore = new Date(Date.now() - 86_400_000);
    cert.validity.notAfter = new Date(Math.min(Date.now() + LEAF_DAYS * 86_400_000, this.cert.validity.notAfter.getTime()));
    cert.setSubject([{ name: 'commonName', value: host.slice(0, 64) }]);
    cert.setIssuer(this.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [net.isIP(host) ? { type: 7, ip: host } : { type: 2, value: host }] },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.cert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    cert.sign(this.key, forge.md.sha256.create());
    return tls.createSecureContext({ key: leafKey.pem, cert: forge.pki.certificateToPem(cert), minVersion: 'TLSv1.2' });
  }
}

/** Makes the CA and publishes it whole: written aside, then linked into place only if none is there. */
function createCa(file: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + CA_YEARS * 365 * 86_400_000);
  const name = [
    { name: 'commonName', value: `Paddock egress CA ${randomBytes(4).toString('hex')}` },
    { name: 'organizationName', value: 'Paddock (this installation)' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  const text = privateKey + forge.pki.certificateToPem(cert);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if (codeOf(err) !== 'EEXIST') throw err;
    return readFileSync(file, 'utf8');
  } finally {
    rmSync(tmp, { force: true });
  }
  return text;
}

/** What the egress proxy opens TLS with: the installation's CA, and the trust it verifies the real servers with. */
export function egressTls(dataDir: string, upstreamCaFile: string | undefined): { ca: EgressCA; upstreamTrust: tls.SecureContext } {
  return { ca: EgressCA.load(dataDir), upstreamTrust: tls.createSecureContext({ ca: upstreamTrust(upstreamCaFile) }) };
}

/** Certificate authorities for verifying upstream servers: the host's store, plus the operator's extra file. */
export function upstreamTrust(extraFile: string | undefined): string[] {
  const system = SYSTEM_BUNDLES.map((f) => readQuiet(f)).find((t) => t && t.includes('BEGIN CERTIFICATE'));
  const roots = system ? [system] : [...tls.rootCertificates];
  if (!extraFile) return roots;
  const extra = readFileSync(extraFile, 'utf8');
  if (!extra.includes('BEGIN CERTIFICATE')) throw new Error(`PADDOCK_UPSTREAM_CA_FILE: ${extraFile} holds no PEM certificate`);
  return [...roots, extra];
}

/**
 * The upstream trust as one PEM file in the data dir, for git (it takes one CA file): the host's
 * store and the operator's extra CAs together. Without extra CAs, git's own default is right.
 */
export function upstreamBundleFile(dataDir: string, extraFile: string | undefined): string | undefined {
  if (!extraFile) return undefined;
  const file = path.join(dataDir, 'egress-upstream-ca.pem');
  writeFileSync(file, upstreamTrust(extraFile).join('\n'), { mode: 0o644 });
  return file;
}

/** Where Linux distributions keep the system's CA bundle (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine). */
export const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem'];

function readQuiet(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
