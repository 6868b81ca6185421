import 'reflect-metadata';
import { jest } from '@jest/globals';
import { Logger, type Type } from '@nestjs/common';
import { CONFIG_SLICES, loadConfig, sliceOf, type AppConfig, type ConfigSlice } from '../infra/config/app-config.js';

type AnyFunction = (...args: never[]) => unknown;

/** An object whose methods are all jest mocks (what a repository becomes in a unit spec). */
export type Mocked<T> = {
  [K in keyof T]: T[K] extends AnyFunction ? jest.Mock<T[K]> & T[K] : T[K];
};

/**
 * Every method of the class (its prototype chain) as a jest.fn() that fails
 * when called before the spec said what it returns (immich's automock): a
 * call nobody expected is an error naming the method, not a silent undefined.
 */
export function automock<T extends object>(type: Type<T>): Mocked<T> {
  const mock: Record<string, unknown> = {};
  for (
    let proto = type.prototype as object | null;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || name in mock) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (typeof descriptor?.value === 'function') {
        mock[name] = jest.fn(() => {
          throw new Error(`${type.name}.${name} was called but not mocked: say what it returns in the spec`);
        });
      }
    }
  }
  return mock as Mocked<T>;
}

/** A valid config for unit specs (nothing connects anywhere), with env overrides. */
export function unitConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'postgresql://unit@127.0.0.1:1/unit',
    REDIS_URL: 'redis://127.0.0.1:1',
    JWT_SECRET: 'unit-secret-unit-secret-unit-secret-0123',
    LOG_LEVEL: 'error',
    ...env,
  });
}

export interface TestService<S> {
  sut: S;
  config: AppConfig;
  /** The mock given to the service for this constructor parameter type. */
  mock<T extends object>(type: Type<T>): Mocked<T>;
}

/**
 * Builds a service the way Nest would, from its constructor's parameter
 * types, with every dependency replaced by an automock (immich's
 * newTestService): a config slice is a real one (from unitConfig), and `use` gives a
 * dependency of your own (one that is not a class, or a fake with behaviour).
 */
export function newTestService<S>(
  Service: Type<S>,
  options: { env?: Record<string, string>; use?: [unknown, unknown][] } = {},
): TestService<S> {
  Logger.overrideLogger(false); // a spec asserts outcomes, not log lines
  const types = (Reflect.getMetadata('design:paramtypes', Service) as unknown[] | undefined) ?? [];
  const config = unitConfig(options.env);
  const given = new Map(options.use);
  const mocks = new Map<unknown, object>();
  const args = types.map((type, i) => {
    if (given.has(type)) return given.get(type);
    if (given.has(i)) return given.get(i);
    if ((CONFIG_SLICES as readonly unknown[]).includes(type)) return sliceOf(type as ConfigSlice, config);
    if (typeof type !== 'function' || type === Object) throw new Error(`${Service.name}: give parameter ${i} with use`);
    const mock = automock(type as Type<object>);
    mocks.set(type, mock);
    return mock;
  });
  return {
    sut: new Service(...args),
    config,
    mock<T extends object>(type: Type<T>): Mocked<T> {
      const found = mocks.get(type);
      if (!found) throw new Error(`${Service.name} was given no mock of ${type.name}`);
      return found as Mocked<T>;
    },
  };
}
