#!/usr/bin/env node
'use strict';
/**
 * `npm run docs:api`: writes docs/api.md from the compiled declarations
 * (dist/*.d.ts), so the reference cannot drift from what users import.
 *
 * Uses the TypeScript compiler API (already a devDependency): load
 * dist/index.d.ts, walk the module's exports in declaration order, resolve
 * re-export aliases to their declarations, and print for each one its
 * signature (comments removed, private members dropped) and its JSDoc,
 * plus the JSDoc of each documented class/interface member.
 *
 * Options: --check  exit 1 if docs/api.md differs from what would be
 *                   written (for CI), without writing.
 */
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const ROOT = path.join(__dirname, '..');
const ENTRY = path.join(ROOT, 'dist', 'index.d.ts');
const OUT = path.join(ROOT, 'docs', 'api.md');

if (!fs.existsSync(ENTRY)) {
  console.error('api-docs: dist/index.d.ts not found; run `npm run build:ts` first');
  process.exit(1);
}

const program = ts.createProgram([ENTRY], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  types: [],
  skipLibCheck: true,
  noResolve: false,
});
const checker = program.getTypeChecker();
const entry = program.getSourceFile(ENTRY);
const moduleSymbol = checker.getSymbolAtLocation(entry);
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

function docOf(symbol) {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tags = symbol
    .getJsDocTags(checker)
    .filter((t) => t.name !== 'internal')
    .map((t) => `@${t.name}${t.text ? ` ${ts.displayPartsToString(t.text)}` : ''}`);
  return [text, ...tags].filter(Boolean).join('\n\n');
}

function isInternal(symbol) {
  return symbol.getJsDocTags(checker).some((t) => t.name === 'internal');
}

/** A member users can see: not `#private`, not `private`, not @internal. */
function isPublicMember(node) {
  if (node.name && ts.isPrivateIdentifier(node.name)) return false;
  // [util.inspect.custom] and the like are protocol hooks, not API.
  if (node.name && ts.isComputedPropertyName(node.name)) return false;
  if (ts.getJSDocTags(node).some((t) => t.tagName.text === 'internal')) return false;
  const mods = ts.canHaveModifiers(node) ? ts.getModifiers(node) || [] : [];
  if (mods.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword)) return false;
  const sym = node.name ? checker.getSymbolAtLocation(node.name) : undefined;
  if (sym && isInternal(sym)) return false;
  // Declaration files render `#x` fields as `#private;`.
  if (ts.isPropertyDeclaration(node) && node.name && node.name.getText() === '#private') return false;
  return true;
}

function print(node) {
  const sf = node.getSourceFile();
  if (ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) {
    const members = node.members.filter(isPublicMember);
    const copy = ts.isClassDeclaration(node)
      ? ts.factory.updateClassDeclaration(node, node.modifiers, node.name, node.typeParameters, node.heritageClauses, members)
      : ts.factory.updateInterfaceDeclaration(node, node.modifiers, node.name, node.typeParameters, node.heritageClauses, members);
    return printer.printNode(ts.EmitHint.Unspecified, copy, sf);
  }
  if (ts.isVariableDeclaration(node)) {
    return printer.printNode(ts.EmitHint.Unspecified, node.parent.parent, sf);
  }
  return printer.printNode(ts.EmitHint.Unspecified, node, sf);
}

function kindOf(decl) {
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isClassDeclaration(decl)) return 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isEnumDeclaration(decl)) return 'enum';
  if (ts.isVariableDeclaration(decl)) return 'const';
  return 'other';
}

function memberDocs(decl) {
  if (!ts.isClassDeclaration(decl) && !ts.isInterfaceDeclaration(decl)) return [];
  const out = [];
  for (const m of decl.members) {
    if (!isPublicMember(m) || !m.name) continue;
    const sym = checker.getSymbolAtLocation(m.name);
    if (!sym) continue;
    const doc = docOf(sym);
    if (!doc) continue;
    let label = m.name.getText();
    if (ts.isMethodDeclaration(m) || ts.isMethodSignature(m)) label += '()';
    if (ts.isConstructorDeclaration(m)) label = 'constructor';
    out.push(`- \`${label}\`: ${doc.replace(/\n+/g, ' ')}`);
  }
  return out;
}

const SECTIONS = [
  ['function', 'Functions'],
  ['class', 'Classes'],
  ['const', 'Constants'],
  ['interface', 'Interfaces'],
  ['type', 'Types'],
  ['enum', 'Enums'],
  ['other', 'Other'],
];

const entries = [];
for (const exp of checker.getExportsOfModule(moduleSymbol)) {
  const target = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
  const decls = (target.getDeclarations() || []).filter((d) => d.getSourceFile().fileName.startsWith(path.join(ROOT, 'dist')));
  if (decls.length === 0) continue;
  const from = path.basename(decls[0].getSourceFile().fileName).replace(/\.d\.ts$/, '');
  entries.push({ name: exp.getName(), kind: kindOf(decls[0]), decls, doc: docOf(target), from });
}

const lines = [
  '# API reference',
  '',
  '<!-- Generated by scripts/api-docs.js (`npm run docs:api`) from dist/*.d.ts. Do not edit by hand. -->',
  '',
  "Everything below is exported from the package root (`require('iscsi-initiator')` or",
  "`import { ... } from 'iscsi-initiator'`). Signatures are the compiled declarations;",
  'the prose is their JSDoc. See [the README](../README.md) for examples and',
  '[architecture.md](architecture.md) for how the pieces fit together.',
  '',
];
const toc = [];
const body = [];
for (const [kind, title] of SECTIONS) {
  const group = entries.filter((e) => e.kind === kind);
  if (group.length === 0) continue;
  toc.push(`- ${title}: ${group.map((e) => `[\`${e.name}\`](#${e.name.toLowerCase()})`).join(', ')}`);
  body.push(`## ${title}`, '');
  for (const e of group) {
    body.push(`### ${e.name}`, '');
    body.push('```ts', ...e.decls.map(print), '```', '');
    if (e.doc) body.push(e.doc, '');
    const members = memberDocs(e.decls[0]);
    if (members.length) body.push('Members:', '', ...members, '');
    body.push(`<sub>Declared in \`dist/${e.from}.d.ts\` (source \`lib/${e.from}.ts\`).</sub>`, '');
  }
}
const text = [...lines, ...toc, '', ...body].join('\n').replace(/\n{3,}/g, '\n\n');

if (process.argv.includes('--check')) {
  const current = fs.existsSync(OUT) ? fs.readFileSync(OUT, 'utf8') : '';
  if (current !== text) {
    console.error('api-docs: docs/api.md is out of date; run `npm run docs:api`');
    process.exit(1);
  }
  console.log('api-docs: docs/api.md is up to date');
} else {
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, text);
  console.log(`api-docs: wrote ${path.relative(ROOT, OUT)} (${entries.length} exports)`);
}
