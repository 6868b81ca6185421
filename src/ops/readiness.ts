import { Injectable } from '@nestjs/common';

/**
 * Whether this process should get new work. Liveness ("the process runs")
 * and readiness ("send me traffic") are kept apart: an orchestrator restarts
 * a process that is not live, and only stops routing to one that is not ready.
 * Shutting down, a process stops being ready before it stops accepting.
 */
@Injectable()
export class Readiness {
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  /** Marks the process not ready, then waits `ms` so load balancers see it before the server closes. */
  async drain(ms: number): Promise<void> {
    this.draining = true;
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }
}
