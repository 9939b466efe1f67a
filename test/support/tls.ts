import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

/**
 * A throwaway certificate authority and a server certificate it signed, for local HTTPS servers
 * in tests (the stand-in for a public server whose certificate Paddock must verify).
 */
export function testCertificates(hosts: string[]): { caPem: string; keyPem: string; certPem: string } {
  const pair = () => {
    const k = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    return { pem: k.privateKey, priv: forge.pki.privateKeyFromPem(k.privateKey), pub: forge.pki.publicKeyFromPem(k.publicKey) };
  };
  const caKey = pair();
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKey.pub;
  ca.serialNumber = '01';
  ca.validity.notBefore = new Date(Date.now() - 86_400_000);
  ca.validity.notAfter = new Date(Date.now() + 86_400_000);
  const caName = [{ name: 'commonName', value: 'Paddock test upstream CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey.priv, forge.md.sha256.create());
  const leafKey = pair();
  const leaf = forge.pki.createCertificate();
  leaf.publicKey = leafKey.pub;
  leaf.serialNumber = '02';
  leaf.validity.notBefore = new Date(Date.now() - 86_400_000);
  leaf.validity.notAfter = new Date(Date.now() + 86_400_000);
  leaf.setSubject([{ name: 'commonName', value: hosts[0] }]);
  leaf.setIssuer(caName);
  leaf.setExtensions([
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (/^[\d.]+$/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  leaf.sign(caKey.priv, forge.md.sha256.create());
  return { caPem: forge.pki.certificateToPem(ca), keyPem: leafKey.pem, certPem: forge.pki.certificateToPem(leaf) };
}
