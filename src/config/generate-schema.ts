/**
 * Writes `diana.schema.json` at the package root from the config schema (`npm run schema`).
 * The file is committed so editors can fetch it; a test fails when it is out of date.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configJsonSchemaText } from './json-schema'

const target = fileURLToPath(new URL('../../diana.schema.json', import.meta.url))
writeFileSync(target, configJsonSchemaText())
process.stdout.write(`wrote ${target}\n`)
