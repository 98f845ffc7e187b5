import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packRecords, transferablesOf, unpackRecords } from '../../../src/adapters/thread/packedRecords';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('packed records (a partition batch handed to the engine thread)', () => {
  it('round-trips keys, values and offsets, including null keys, empty values and multi-byte text', () => {
    const packed = packRecords('fleet.state', 3, 1_700_000_000_000, [
      { key: utf8('site-1'), value: utf8('{"a":1}'), offset: '41' },
      { key: null, value: utf8('kein Schlüssel — ⚡'), offset: '42' },
      { key: utf8('site-ü'), value: null, offset: '9007199254740993' },
    ]);
    expect(unpackRecords(packed)).toEqual([
      {
        topic: 'fleet.state',
        key: 'site-1',
        value: '{"a":1}',
        partition: 3,
        offset: '41',
        receivedMs: 1_700_000_000_000,
      },
      {
        topic: 'fleet.state',
        key: null,
        value: 'kein Schlüssel — ⚡',
        partition: 3,
        offset: '42',
        receivedMs: 1_700_000_000_000,
      },
      {
        topic: 'fleet.state',
        key: 'site-ü',
        value: '',
        partition: 3,
        offset: '9007199254740993',
        receivedMs: 1_700_000_000_000,
      },
    ]);
  });

  it('decodes runs of one key once and still tells apart keys of equal length or shared prefix', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('site-ab', 'site-ba', 'site-a', 'site-aa', 'sité-a', null), {
          maxLength: 40,
        }),
        (keys) => {
          const packed = packRecords(
            'fleet.state',
            0,
            0,
            keys.map((k, i) => ({
              key: k === null ? null : utf8(k),
              value: utf8(`{"i":${i}}`),
              offset: String(i),
            })),
          );
          const back = unpackRecords(packed);
          expect(back.map((r) => r.key)).toEqual(keys);
          expect(back.map((r) => r.value)).toEqual(keys.map((_, i) => `{"i":${i}}`));
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });

  it('packs records that point into one shared fetch buffer exactly like records with buffers of their own', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.option(fc.string()), value: fc.option(fc.string()) }), {
          maxLength: 30,
        }),
        (records) => {
          // One buffer for all, as a fetch response: junk between the fields, like record headers.
          const parts: Buffer[] = [];
          let at = 0;
          const put = (s: string | null): [number, number] => {
            parts.push(utf8('~~'));
            at += 2;
            if (s === null) return [-1, -1];
            const b = utf8(s);
            parts.push(b);
            at += b.length;
            return [at - b.length, at];
          };
          const located = records.map((r, i) => {
            const [keyStart, keyEnd] = put(r.key);
            const [valueStart, valueEnd] = put(r.value);
            return { keyStart, keyEnd, valueStart, valueEnd, offset: String(100 + i) };
          });
          const shared = Buffer.concat(parts);
          const fromShared = packRecords(
            'fleet.state',
            1,
            7,
            located.map((l) => ({
              ...l,
              bytes: shared,
              key: l.keyStart < 0 ? null : shared.subarray(l.keyStart, l.keyEnd),
              value: l.valueStart < 0 ? null : shared.subarray(l.valueStart, l.valueEnd),
            })),
          );
          const fromOwn = packRecords(
            'fleet.state',
            1,
            7,
            records.map((r, i) => ({
              key: r.key === null ? null : utf8(r.key),
              value: r.value === null ? null : utf8(r.value),
              offset: String(100 + i),
            })),
          );
          expect(fromShared.bytes.buffer.byteLength).toBe(fromShared.bytes.byteLength);
          expect(unpackRecords(fromShared)).toEqual(unpackRecords(fromOwn));
          expect([...fromShared.bounds]).toEqual([...fromOwn.bounds]);
        },
      ),
      { numRuns: 200, seed: 5 },
    );
  });

  it('owns its buffers, so they can be transferred, and survives the copy a transfer makes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.option(fc.string()), value: fc.string() }), { maxLength: 30 }),
        (records) => {
          const raw = records.map((r, i) => ({
            key: r.key === null ? null : utf8(r.key),
            value: utf8(r.value),
            offset: String(i),
          }));
          const packed = packRecords('grid.frequency', 0, 0, raw);
          for (const buffer of transferablesOf(packed)) expect(buffer.byteLength).toBeGreaterThanOrEqual(0);
          expect(packed.bytes.byteOffset).toBe(0);
          const moved = structuredClone(packed, { transfer: transferablesOf(packed) });
          expect(packed.bytes.byteLength).toBe(0); // detached: really transferred
          const back = unpackRecords(moved);
          expect(back.map((r) => r.key)).toEqual(records.map((r) => r.key));
          expect(back.map((r) => r.value)).toEqual(
            records.map((r) => Buffer.from(r.value, 'utf8').toString('utf8')),
          );
        },
      ),
    );
  });
});
