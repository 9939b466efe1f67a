import path from 'node:path';
import ts from 'typescript';

/**
 * Checks live JSON against the official SDK's own type declarations (the final word on field
 * names, per the wire contract). The SDK's `.d.ts` files are loaded with the TypeScript compiler
 * API and a value is walked against a named interface or type alias:
 *
 * - every required property is present, recursively through nested objects and arrays;
 * - no property the type does not declare (unless the type has an index signature);
 * - literal-typed fields equal the declared literal, primitives have the declared JSON type;
 * - unions are resolved by trying each member; when none fits, the member whose `type`
 *   discriminator equals the value's `type` is the one reported on.
 */

const SDK = path.resolve(import.meta.dirname, '../../node_modules/@anthropic-ai/sdk');

export type MismatchKind = 'missing' | 'extra' | 'literal' | 'type';

export interface Mismatch {
  /** Where in the value, e.g. `$.tools[1].configs[0].permission_policy.type`. */
  path: string;
  kind: MismatchKind;
  detail: string;
}

export const formatMismatch = (m: Mismatch) => `${m.path}: ${m.kind} (${m.detail})`;

/** The SDK files that declare the wire objects Paddock serves. */
export const WIRE_FILES = [
  'core/pagination.d.ts',
  'resources/beta/beta.d.ts',
  'resources/beta/agents/agents.d.ts',
  'resources/beta/environments/environments.d.ts',
  'resources/beta/sessions/sessions.d.ts',
  'resources/beta/sessions/events.d.ts',
  'resources/beta/sessions/resources.d.ts',
  'resources/beta/vaults/vaults.d.ts',
  'resources/beta/vaults/credentials.d.ts',
  'resources/beta/files.d.ts',
  'resources/beta/memory-stores/memories.d.ts',
];

export class SdkShapes {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type[]>();

  private constructor(program: ts.Program, roots: string[]) {
    this.checker = program.getTypeChecker();
    for (const file of roots) {
      const sf = program.getSourceFile(file);
      if (!sf) throw new Error(`SDK declaration not loaded: ${file}`);
      for (const st of sf.statements) {
        if (!ts.isInterfaceDeclaration(st) && !ts.isTypeAliasDeclaration(st)) continue;
        const sym = this.checker.getSymbolAtLocation(st.name);
        if (!sym) continue;
        const list = this.types.get(st.name.text) ?? [];
        list.push(this.checker.getDeclaredTypeOfSymbol(sym));
        this.types.set(st.name.text, list);
      }
    }
  }

  /**
   * Loads the declarations of the given SDK files (paths relative to the package root). Every
   * other module they import (the client, request plumbing, the Messages API) is read as empty:
   * wire types never reference them, and compiling the whole SDK would take many seconds.
   */
  static load(files: string[] = WIRE_FILES): SdkShapes {
    const roots = files.map((f) => path.join(SDK, f));
    const real = new Set(roots);
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      noResolve: false,
      lib: ['lib.es5.d.ts'],
      target: ts.ScriptTarget.ES2022,
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, lang, ...rest) => {
      const inSdk = name.startsWith(SDK + path.sep);
      if (inSdk && !real.has(name)) return ts.createSourceFile(name, 'export {};', lang);
      return getSourceFile(name, lang, ...rest);
    };
    return new SdkShapes(ts.createProgram(roots, options, host), roots);
  }

  has(typeName: string): boolean {
    return this.types.has(typeName);
  }

  /**
   * Every way `value` departs from the SDK type `typeName`. `bindings` gives the type arguments of
   * a generic type by parameter name, e.g. `{ Item: 'BetaManagedAgentsAgent' }` for
   * `PageCursorResponse`.
   */
  check(typeName: string, value: unknown, bindings: Record<string, string> = {}): Mismatch[] {
    const out: Mismatch[] = [];
    const bound = new Map(Object.entries(bindings).map(([k, v]) => [k, this.named(v)]));
    this.match(this.named(typeName), value, '$', out, bound);
    return out;
  }

  private named(name: string): ts.Type {
    const found = this.types.get(name);
    if (!found) throw new Error(`the SDK declares no type named ${name}`);
    if (found.length > 1 && new Set(found).size > 1) throw new Error(`the SDK declares ${name} more than once`);
    return found[0];
  }

  private show(t: ts.Type): string {
    return this.checker.typeToString(t);
  }

  private match(t: ts.Type, v: unknown, at: string, out: Mismatch[], bound: Map<string, ts.Type>): void {
    const f = t.flags;
    if (f & ts.TypeFlags.Any && (t as unknown as { intrinsicName: string }).intrinsicName === 'error') {
      throw new Error(`${at}: the SDK type here did not resolve (an import outside WIRE_FILES?)`);
    }
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (f & ts.TypeFlags.TypeParameter) {
      const b = bound.get(t.symbol.name);
      if (!b) throw new Error(`${at}: no binding for type parameter ${t.symbol.name}`);
      return this.match(b, v, at, out, bound);
    }
    if (t.isUnion()) return this.matchUnion(t, v, at, out, bound);
    const got = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    const wrong = () => out.push({ path: at, kind: 'type', detail: `${got} ${JSON.stringify(v)?.slice(0, 80)} is not ${this.show(t)}` });
    if (t.isStringLiteral() || t.isNumberLiteral()) {
      if (v !== t.value) out.push({ path: at, kind: 'literal', detail: `${JSON.stringify(v)} is not ${JSON.stringify(t.value)}` });
      return;
    }
    if (f & ts.TypeFlags.BooleanLiteral) {
      if (v !== ((t as unknown as { intrinsicName: string }).intrinsicName === 'true')) wrong();
      return;
    }
    if (f & ts.TypeFlags.Null) return void (v === null || wrong());
    if (f & ts.TypeFlags.Undefined) return void (v === undefined || wrong());
    if (f & ts.TypeFlags.String) return void (typeof v === 'string' || wrong());
    if (f & ts.TypeFlags.Number) return void (typeof v === 'number' || wrong());
    if (f & ts.TypeFlags.Boolean) return void (typeof v === 'boolean' || wrong());
    if (this.checker.isArrayType(t)) {
      if (!Array.isArray(v)) return void wrong();
      const [item] = this.checker.getTypeArguments(t as ts.TypeReference);
      v.forEach((x, i) => this.match(item, x, `${at}[${i}]`, out, bound));
      return;
    }
    if (f & (ts.TypeFlags.Object | ts.TypeFlags.Intersection)) {
      if (got !== 'object') return void wrong();
      const obj = v as Record<string, unknown>;
      const props = this.checker.getPropertiesOfType(t);
      const declared = new Set(props.map((p) => p.name));
      for (const p of props) {
        if (!(p.name in obj)) {
          if (!(p.flags & ts.SymbolFlags.Optional)) out.push({ path: `${at}.${p.name}`, kind: 'missing', detail: `required by ${this.show(t)}` });
          continue;
        }
        this.match(this.checker.getTypeOfSymbol(p), obj[p.name], `${at}.${p.name}`, out, bound);
      }
      const index = this.checker.getIndexInfosOfType(t).find((i) => i.keyType.flags & ts.TypeFlags.String);
      for (const k of Object.keys(obj)) {
        if (declared.has(k)) continue;
        if (index) this.match(index.type, obj[k], `${at}.${k}`, out, bound);
        else out.push({ path: `${at}.${k}`, kind: 'extra', detail: `${this.show(t)} declares no ${k}` });
      }
      return;
    }
    throw new Error(`${at}: cannot check against ${this.show(t)} (flags ${f})`);
  }

  private matchUnion(t: ts.UnionType, v: unknown, at: string, out: Mismatch[], bound: Map<string, ts.Type>): void {
    const tries = t.types.map((member) => {
      const errs: Mismatch[] = [];
      this.match(member, v, at, errs, bound);
      return { member, errs };
    });
    if (tries.some((x) => x.errs.length === 0)) return;
    const tag = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>).type : undefined;
    const tagged = tries.filter(
      (x) => x.member.getProperty('type') && this.literalsOf(this.checker.getTypeOfSymbol(x.member.getProperty('type')!)).includes(tag as string),
    );
    if (tag !== undefined && tagged.length === 0 && tries.some((x) => x.member.getProperty('type'))) {
      const known = tries.flatMap((x) => (x.member.getProperty('type') ? this.literalsOf(this.checker.getTypeOfSymbol(x.member.getProperty('type')!)) : []));
      out.push({ path: `${at}.type`, kind: 'literal', detail: `${JSON.stringify(tag)} is none of ${known.map((k) => JSON.stringify(k)).join(' | ')}` });
      return;
    }
    const pool = tagged.length ? tagged : tries;
    const best = pool.reduce((a, b) => (b.errs.length < a.errs.length ? b : a));
    if (pool.length > 1 && !tagged.length && best.errs.every((e) => e.path === at)) {
      out.push({ path: at, kind: 'type', detail: `${JSON.stringify(v)?.slice(0, 80)} is not ${this.show(t)}` });
      return;
    }
    out.push(...best.errs);
  }

  private literalsOf(t: ts.Type): unknown[] {
    const members = t.isUnion() ? t.types : [t];
    return members.filter((m) => m.isStringLiteral() || m.isNumberLiteral()).map((m) => (m as ts.LiteralType).value);
  }
}
