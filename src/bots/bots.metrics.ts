import { Inject, Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../infra/metrics/metrics.registry.js';
import type { AntiBotMode } from '../sales/anti-bot-settings.js';
import type { Tier } from './challenge.js';
import type { Reason, Verdict } from './risk-rules.js';

/**
 * The anti-bot screen's metrics (`flash_bots_*`), counted by the API process
 * that screened: no sale label (the admin room stats give a sale's counts).
 */
@Injectable()
export class BotsMetrics {
  private readonly verdicts: Counter<'mode' | 'verdict' | 'reason'>;
  private readonly proofs: Counter<'result'>;
  private readonly verifyCpu: Counter;
  private readonly challenges: Counter<'tier'>;
  /** CPU this process spent checking proofs (µs), for the bench and the stats. */
  private verifyMicros = 0;
  private verified = 0;

  constructor(@Inject(MetricsRegistry) metrics: MetricsRegistry) {
    const registers = [metrics.registry];
    this.verdicts = new Counter({
      name: 'flash_bots_identities_total',
      help: 'Identities the anti-bot screen shadowed or refused, by reason (mode="log": what it would have done)',
      labelNames: ['mode', 'verdict', 'reason'],
      registers,
    });
    this.proofs = new Counter({
      name: 'flash_bots_proofs_total',
      help: 'Join proofs checked by this API process, by result (ok or the refusal code)',
      labelNames: ['result'],
      registers,
    });
    this.verifyCpu = new Counter({
      name: 'flash_bots_verify_cpu_seconds_total',
      help: 'CPU this API process spent checking join proofs (signature and SHA-256)',
      registers,
    });
    this.challenges = new Counter({
      name: 'flash_bots_challenges_total',
      help: 'Challenges issued by this API process, by difficulty tier (0 base, 1 ×10, 2 ×100)',
      labelNames: ['tier'],
      registers,
    });
  }

  identity(mode: AntiBotMode, verdict: Verdict, reason: Reason): void {
    this.verdicts.inc({ mode, verdict, reason });
  }

  /** A proof checked (or refused before any check: no CPU counted). */
  proof(result: string, cpuMicros: number | null): void {
    this.proofs.inc({ result });
    if (cpuMicros !== null) {
      this.verifyCpu.inc(cpuMicros / 1e6);
      this.verifyMicros += cpuMicros;
      this.verified++;
    }
  }

  challenge(tier: Tier): void {
    this.challenges.inc({ tier: String(tier) });
  }

  /** Proofs checked by this process and the CPU spent on them. */
  verification(): { proofs: number; cpuMicros: number } {
    return { proofs: this.verified, cpuMicros: Math.round(this.verifyMicros) };
  }
}
