import { Global, Module, type DynamicModule } from '@nestjs/common';
import { CONFIG_SLICES, sliceOf, type AppConfig } from './app-config.js';

/**
 * Makes each slice of the validated config injectable under its class
 * (`@Inject(RedisConfig) redis: RedisConfig`); the whole config is not a
 * provider, so a class sees only the settings (and secrets) of the slices it asks for.
 */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers = CONFIG_SLICES.map((slice) => ({ provide: slice, useValue: sliceOf(slice, config) }));
    return { module: ConfigModule, providers, exports: [...CONFIG_SLICES] };
  }
}
