// The @nestjs/swagger CLI plugin, run as a metadata generator: it reads the
// DTOs and controllers (types, class-validator constraints, JSDoc comments)
// and writes src/generated/openapi/metadata.ts, which the API loads with
// SwaggerModule.loadPluginMetadata() before building its OpenAPI document.
// One mechanism for the tsc build and for jest (swc), which cannot run
// TypeScript transformers. Runs before `tsc` in `npm run build`/`typecheck`.
import { mkdirSync } from 'node:fs';
import ts from 'typescript';
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator.js';
import { ReadonlyVisitor } from '@nestjs/swagger/plugin';

const OUT = 'src/generated/openapi';
mkdirSync(OUT, { recursive: true });

const config = ts.getParsedCommandLineOfConfigFile(
  'tsconfig.build.json',
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  },
);
// A program without a type-check pass: `tsc` reports errors right after.
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });

new PluginMetadataGenerator().generate({
  visitors: [new ReadonlyVisitor({ classValidatorShim: true, introspectComments: true, pathToSource: OUT })],
  outputDir: OUT,
  filename: 'metadata.ts',
  tsProgramRef: program,
});
