import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { RepeatedErrors } from './repeated-errors.js';

function refused(port: number): Error {
  return Object.assign(new Error(`connect ECONNREFUSED 127.0.0.1:${port}`), { code: 'ECONNREFUSED' });
}

describe('RepeatedErrors', () => {
  let lines: Record<string, unknown>[];
  let errors: RepeatedErrors;

  beforeEach(() => {
    jest.useFakeTimers();
    lines = [];
    errors = new RepeatedErrors({ warn: (line: Record<string, unknown>) => void lines.push(line) }, 10_000);
  });

  afterEach(() => {
    errors.clear();
    jest.useRealTimers();
  });

  it('writes the first error of a kind at once, then one line per window with the count', () => {
    for (let i = 0; i < 500; i++) errors.report('redis', refused(6379));
    expect(lines).toEqual([
      expect.objectContaining({ source: 'redis', code: 'ECONNREFUSED', error: expect.any(String) }),
    ]);
    jest.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ code: 'ECONNREFUSED', repeated: 499, windowMs: 10_000, sources: ['redis'] });
    // Still failing: another window, another line.
    for (let i = 0; i < 20; i++) errors.report('redis', refused(6379));
    jest.advanceTimersByTime(10_000);
    expect(lines[2]).toMatchObject({ repeated: 20 });
    // Quiet for a window: nothing more, and the next error is written at once.
    jest.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(3);
    errors.report('redis', refused(6379));
    expect(lines).toHaveLength(4);
  });

  it('one line per kind whatever the source, naming the sources; numbers in a message do not make a new kind', () => {
    errors.report('redis', refused(1));
    errors.report('worker orders', refused(1));
    errors.report('queue orders', refused(1));
    errors.report('worker orders', new Error('Missing lock for job 17. moveToFinished'));
    errors.report('worker orders', new Error('Missing lock for job 18. moveToFinished'));
    expect(lines.map((l) => [l.source, l.error])).toEqual([
      ['redis', 'connect ECONNREFUSED 127.0.0.1:1'],
      ['worker orders', 'Missing lock for job 17. moveToFinished'],
    ]);
    jest.advanceTimersByTime(10_000);
    expect(lines.slice(2)).toEqual([
      expect.objectContaining({ code: 'ECONNREFUSED', repeated: 2, sources: ['worker orders', 'queue orders'] }),
      expect.objectContaining({ repeated: 1, sources: ['worker orders'] }),
    ]);
  });
});
