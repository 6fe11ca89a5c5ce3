/**
 * Writes `diana.schema.json` at the package root from the config schema, and the option tables
 * of the docs from the option schemas (`npm run schema`). Both are committed, so editors can
 * fetch the one and readers see the other; tests fail when either is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { configJsonSchemaText } from './json-schema'
import { DOCS_WITH_OPTION_TABLES, withOptionTables } from './option-tables'

const root = new URL('../../', import.meta.url)
const target = fileURLToPath(new URL('diana.schema.json', root))
writeFileSync(target, configJsonSchemaText())
process.stdout.write(`wrote ${target}\n`)

for (const doc of DOCS_WITH_OPTION_TABLES) {
  const path = fileURLToPath(new URL(doc, root))
  const before = readFileSync(path, 'utf8')
  const after = withOptionTables(before, doc)
  if (after !== before) writeFileSync(path, after)
  process.stdout.write(`${after === before ? 'unchanged' : 'wrote'} ${path}\n`)
}
