/**
 * Reads the import statements of a TypeScript / JavaScript module from its source text,
 * without loading it: a small lexer that skips comments, strings, template literals and
 * regular-expression literals, then recognises
 *
 * - `import ... from 'x'`, `import 'x'`, `export ... from 'x'` (static),
 * - `import('x')` with a string literal (dynamic),
 * - `import type ... from 'x'`, `export type ... from 'x'`, `import { type A, type B } from 'x'`
 *   and `typeof import('x')` (type-only: erased when the module runs).
 *
 * Used by the engine to key a stage kind by the code it really runs (src/cache/code-closure.ts)
 * and by test/arch-imports.test.ts to enforce the folder import rule.
 */

/** One import found in a module's text. */
export interface ImportRef {
  /** The specifier as written (`./x.ts`, `@tensorflow/tfjs`, `node:fs`). */
  spec: string;
  /** 1-based line of the specifier. */
  line: number;
  /** Erased at run time (`import type`, `export type`, all-`type` specifiers, `typeof import()`). */
  typeOnly: boolean;
  /** `import('x')` rather than a static statement. */
  dynamic: boolean;
}

type Tok =
  | { t: 'id'; v: string; line: number }
  | { t: 'str'; v: string; line: number }
  | { t: 'p'; v: string; line: number };

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_KEYWORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);

function isIdStart(c: string): boolean {
  return /[A-Za-z_$\u0080-\uffff]/.test(c);
}

function isIdPart(c: string): boolean {
  return /[A-Za-z0-9_$\u0080-\uffff]/.test(c);
}

/** Splits source text into identifiers, string literals and punctuation; drops everything else. */
function tokenize(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  /** Open `${` of template literals, as brace depths at which each resumes. */
  const templateStack: number[] = [];
  let braceDepth = 0;
  const n = src.length;

  const regexAllowed = (): boolean => {
    const last = toks[toks.length - 1];
    if (last === undefined) return true;
    if (last.t === 'str') return false;
    if (last.t === 'id') return REGEX_AFTER_KEYWORD.has(last.v);
    return !(last.v === ')' || last.v === ']' || last.v === '}');
  };

  /** Skips a template literal body from i (just after a backtick or a closing `}` of `${`). */
  const templateBody = (): void => {
    while (i < n) {
      const c = src[i]!;
      if (c === '\\') {
        i += 2;
        continue;
      }
      if (c === '\n') line++;
      if (c === '`') {
        i++;
        toks.push({ t: 'str', v: '', line });
        return;
      }
      if (c === '$' && src[i + 1] === '{') {
        i += 2;
        templateStack.push(braceDepth);
        braceDepth++;
        toks.push({ t: 'p', v: '(', line });
        return;
      }
      i++;
    }
  };

  while (i < n) {
    const c = src[i]!;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) if (src[k] === '\n') line++;
      i = stop;
    } else if (c === "'" || c === '"') {
      const startLine = line;
      let v = '';
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') {
          v += src[i + 1] ?? '';
          i += 2;
          continue;
        }
        if (src[i] === '\n') break; // unterminated: stop at the line end
        v += src[i];
        i++;
      }
      i++;
      toks.push({ t: 'str', v, line: startLine });
    } else if (c === '`') {
      i++;
      templateBody();
    } else if (c === '/' && regexAllowed()) {
      i++;
      let inClass = false;
      while (i < n && src[i] !== '\n') {
        const d = src[i]!;
        if (d === '\\') {
          i += 2;
          continue;
        }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        i++;
      }
      i++;
      while (i < n && isIdPart(src[i]!)) i++; // flags
      toks.push({ t: 'str', v: '', line });
    } else if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdPart(src[j]!)) j++;
      toks.push({ t: 'id', v: src.slice(i, j), line });
      i = j;
    } else if (c >= '0' && c <= '9') {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(src[j]!)) j++;
      toks.push({ t: 'str', v: '', line });
      i = j;
    } else {
      if (c === '{') braceDepth++;
      else if (c === '}') {
        braceDepth--;
        if (templateStack.length > 0 && templateStack[templateStack.length - 1] === braceDepth) {
          templateStack.pop();
          i++;
          toks.push({ t: 'p', v: ')', line });
          templateBody();
          continue;
        }
      }
      toks.push({ t: 'p', v: c, line });
      i++;
    }
  }
  return toks;
}

/** Every import of the module whose source text is `src`, in order of appearance. */
export function scanImports(src: string): ImportRef[] {
  const toks = tokenize(src);
  const out: ImportRef[] = [];
  const isP = (k: number, v: string): boolean => toks[k]?.t === 'p' && toks[k]?.v === v;
  const isId = (k: number, v: string): boolean => toks[k]?.t === 'id' && toks[k]?.v === v;

  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k]!;
    if (tok.t !== 'id' || (tok.v !== 'import' && tok.v !== 'export')) continue;
    if (isP(k - 1, '.')) continue; // `import.meta`, `x.import`
    if (tok.v === 'import' && isP(k + 1, '(')) {
      const arg = toks[k + 2];
      if (arg?.t === 'str' && (isP(k + 3, ')') || isP(k + 3, ','))) {
        out.push({ spec: arg.v, line: arg.line, typeOnly: isId(k - 1, 'typeof'), dynamic: true });
      }
      continue;
    }
    if (tok.v === 'import' && isP(k + 1, '.')) continue; // import.meta
    // A statement: only at statement start (not a property named `import`).
    const prev = toks[k - 1];
    if (prev !== undefined && !(prev.t === 'p' && (prev.v === ';' || prev.v === '}' || prev.v === '{')) && prev.line === tok.line) {
      if (!(prev.t === 'id' && prev.v === 'declare')) continue;
    }
    let j = k + 1;
    let typeOnly = isId(j, 'type') && !(isId(j + 1, 'from') || isP(j + 1, ','));
    if (tok.v === 'import' && toks[j]?.t === 'str') {
      out.push({ spec: toks[j]!.v, line: toks[j]!.line, typeOnly: false, dynamic: false });
      continue;
    }
    // Walk to `from 'x'`, stopping at anything that ends a declaration without one.
    let braceNames = 0;
    let braceTyped = 0;
    let inBraces = false;
    let sawBraces = false;
    let sawDefaultOrStar = false;
    for (; j < toks.length; j++) {
      const t = toks[j]!;
      if (t.t === 'p' && t.v === '{') {
        inBraces = true;
        sawBraces = true;
        continue;
      }
      if (t.t === 'p' && t.v === '}') {
        inBraces = false;
        continue;
      }
      if (inBraces) {
        if (t.t === 'id' && (isP(j - 1, '{') || isP(j - 1, ','))) {
          braceNames++;
          if (t.v === 'type' && toks[j + 1]?.t === 'id' && !isId(j + 1, 'as')) braceTyped++;
        }
        continue;
      }
      if (t.t === 'p' && t.v === '*') {
        sawDefaultOrStar = true;
        continue;
      }
      if (t.t === 'id' && t.v === 'from' && toks[j + 1]?.t === 'str') {
        const s = toks[j + 1]!;
        if (!typeOnly && sawBraces && !sawDefaultOrStar && braceNames > 0 && braceTyped === braceNames && tok.v === 'import') {
          typeOnly = true;
        }
        if (!typeOnly && tok.v === 'export' && sawBraces && braceNames > 0 && braceTyped === braceNames) typeOnly = true;
        out.push({ spec: s.v, line: s.line, typeOnly, dynamic: false });
        break;
      }
      if (t.t === 'id' && (t.v === 'type' || t.v === 'as' || isId(j - 1, 'as') || (tok.v === 'import' && j === k + 1) || isP(j - 1, ',') || isP(j - 1, '*'))) {
        if (tok.v === 'import' && j === k + 1) sawDefaultOrStar = t.v !== 'type';
        continue;
      }
      if (t.t === 'p' && t.v === ',') continue;
      break; // `export const`, `export function`, `import x = require(...)`, ...
    }
  }
  return out;
}
