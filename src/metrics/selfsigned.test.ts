import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { selfSigned } from './selfsigned.js';

describe('a self-signed certificate', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const pair = selfSigned(['localhost', '127.0.0.1', 'coxswain-7d9f'], now, 30);
  const x = new X509Certificate(pair.cert);

  it('names every host, DNS names and IP addresses apart', () => {
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:coxswain-7d9f');
    expect(x.subject).toBe('CN=localhost');
    expect(x.checkHost('coxswain-7d9f')).toBe('coxswain-7d9f');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('is signed by its own key, which the key file holds', () => {
    expect(x.verify(createPublicKey(pair.key))).toBe(true);
    expect(x.checkPrivateKey(createPrivateKey(pair.key))).toBe(true);
    expect(x.issuer).toBe(x.subject);
  });

  it('is valid from an hour before now for the days asked', () => {
    expect(new Date(x.validFrom).toISOString()).toBe('2026-03-01T11:00:00.000Z');
    expect(new Date(x.validTo).toISOString()).toBe('2026-03-31T12:00:00.000Z');
  });

  it('is well-formed DER whatever the random serial bytes: no leading zero octet, never negative', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const random = Buffer.alloc(16, 0x05);
      random[0] = first;
      const cert = new X509Certificate(selfSigned(['localhost'], now, 30, random).cert);
      expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
    }
  });

  it('gets a new key and serial each time', () => {
    const again = new X509Certificate(selfSigned(['localhost'], now).cert);
    expect(again.serialNumber).not.toBe(x.serialNumber);
    expect(again.publicKey.export({ format: 'pem', type: 'spki' })).not.toBe(x.publicKey.export({ format: 'pem', type: 'spki' }));
  });
});
