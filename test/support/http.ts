import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AppConfig } from '../../src/infra/config/app-config.js';
import { createHttpApp } from '../../src/http-app.js';

export interface RunningApi {
  app: NestFastifyApplication;
  url: string;
  close(): Promise<void>;
}

/** The API in this process, listening on a free loopback port. */
export async function startApi(config: AppConfig): Promise<RunningApi> {
  const app = await createHttpApp(config);
  // The accept backlog of main.ts: a volley of 2,000 connections must not overflow it.
  await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}

export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A real HTTP request; JSON in, JSON (or text) out. */
export async function request<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}
