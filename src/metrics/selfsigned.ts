// A self-signed certificate for /metrics, made at start when no certificate is mounted. ECDSA
// P-256 from node:crypto; the X.509 structure from @peculiar/asn1-x509 (the schema layer of
// @peculiar/x509, without its dependency-injection container that needs a global Reflect polyfill).
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Certificate, Extension, Extensions, GeneralName, id_ce_subjectAltName,
  Name, RelativeDistinguishedName, SubjectAlternativeName, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
} from '@peculiar/asn1-x509';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';

export interface KeyPair { cert: string; key: string }

/**
 * A certificate for `hosts` (DNS names or IP addresses), valid from an hour before `now` for `days`.
 * `random` is the serial's 16 random bytes (a parameter so a test can give the unlucky ones).
 */
export function selfSigned(hosts: string[], now: Date, days = 365, random: Buffer = randomBytes(16)): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const algorithm = new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 });
  const name = new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: COMMON_NAME, value: new AttributeValue({ utf8String: hosts[0] ?? 'coxswain' }) })])]);
  const san = new SubjectAlternativeName(hosts.map((h) => new GeneralName(isIP(h) ? { iPAddress: h } : { dNSName: h })));
  // A positive serial of 126 random bits (RFC 5280: at most 20 octets, positive). The first octet
  // is 0x40-0x7f: positive, and never a leading 0x00, which DER forbids before an octet below 0x80
  // (OpenSSL refuses such a certificate: "illegal padding"; one serial in 256 had it).
  const serial = Buffer.from(random);
  serial[0] = (serial[0]! & 0x3f) | 0x40;
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: arrayBuffer(serial),
    signature: algorithm,
    issuer: name,
    subject: name,
    validity: new Validity({ notBefore: new Date(now.getTime() - 3600_000), notAfter: new Date(now.getTime() + days * 86_400_000) }),
    subjectPublicKeyInfo: AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    extensions: new Extensions([new Extension({ extnID: id_ce_subjectAltName, critical: false, extnValue: new OctetString(AsnConvert.serialize(san)) })]),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), privateKey);
  const der = Buffer.from(AsnConvert.serialize(new Certificate({ tbsCertificate: tbs, signatureAlgorithm: algorithm, signatureValue: arrayBuffer(signature) })));
  return { cert: pem('CERTIFICATE', der), key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

const arrayBuffer = (b: Buffer): ArrayBuffer => Uint8Array.from(b).buffer;

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}
