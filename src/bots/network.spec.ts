import { describe, expect, it } from '@jest/globals';
import { clientNetwork } from './network.js';

describe('clientNetwork', () => {
  it('keys IPv4 by address and /24', () => {
    expect(clientNetwork('203.0.113.7')).toEqual({ address: '203.0.113.7', network: '203.0.113' });
  });

  it('spells IPv6 one way and keys it by /64', () => {
    const full = { address: '2001:0db8:0000:0001:0000:0000:0000:0001', network: '2001:0db8:0000:0001' };
    expect(clientNetwork('2001:db8:0:1::1')).toEqual(full);
    expect(clientNetwork('2001:DB8:0:1:0:0:0:1')).toEqual(full);
    expect(clientNetwork('2001:db8:0:1::1%eth0')).toEqual(full);
    expect(clientNetwork('::1')).toEqual({
      address: '0000:0000:0000:0000:0000:0000:0000:0001',
      network: '0000:0000:0000:0000',
    });
    expect(clientNetwork('2001:db8:0:1:ffff::')?.network).toBe('2001:0db8:0000:0001');
  });

  it('takes an IPv4-mapped IPv6 address for the IPv4 client it is', () => {
    expect(clientNetwork('::ffff:198.51.100.20')).toEqual({ address: '198.51.100.20', network: '198.51.100' });
    expect(clientNetwork('::ffff:c633:6414')).toEqual({ address: '198.51.100.20', network: '198.51.100' });
  });

  it('is null for what is not an IP address', () => {
    for (const bad of ['', 'localhost', '1.2.3', '1::2::3', '999.1.1.1']) expect(clientNetwork(bad)).toBeNull();
  });
});
