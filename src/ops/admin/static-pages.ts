import { readFileSync } from 'node:fs';
import { Injectable } from '@nestjs/common';

/** static/admin/ at the repository root: the same three levels up from src/ops/admin and dist/ops/admin. */
const DIR = new URL('../../../static/admin/', import.meta.url);

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** The admin pages (sign-in, live view): plain HTML, CSS and JS, no build step; read once at start. */
@Injectable()
export class StaticPages {
  private readonly files = new Map<string, string>();

  get(name: string): string {
    let body = this.files.get(name);
    if (body === undefined) {
      body = readFileSync(new URL(name, DIR), 'utf8');
      this.files.set(name, body);
    }
    return body;
  }

  type(name: string): string {
    return TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';
  }
}
