/**
 * Tiny arithmetic expression evaluator for the pipeline config (§11.5: `width`, `height`,
 * `fps` and `gst_params` values are expressions over the screen size), e.g.
 * `width / 2`, `round(3072 * 650)`, `min(fps, 30)`.
 *
 * Grammar: numbers, variables, `+ - * / %`, unary minus, parentheses, single- or
 * double-quoted string literals, and the functions round, floor, ceil, min, max, abs.
 * No other code is ever evaluated.
 */

export type ExprValue = number | string;

type Token =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string };

const FUNCS: Record<string, (...a: number[]) => number> = {
  round: (x) => Math.round(x ?? NaN),
  floor: (x) => Math.floor(x ?? NaN),
  ceil: (x) => Math.ceil(x ?? NaN),
  abs: (x) => Math.abs(x ?? NaN),
  min: (...a) => Math.min(...a),
  max: (...a) => Math.max(...a),
};

export class ExprError extends Error {}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
      if (!m) throw new ExprError(`bad number at ${i}`);
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new ExprError('unterminated string');
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else if ('+-*/%(),'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else {
      throw new ExprError(`unexpected '${c}' at ${i}`);
    }
  }
  return out;
}

/** Evaluates `src` with the given variables. Throws ExprError on any problem. */
export function evaluate(src: string, vars: Record<string, number>): ExprValue {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => toks[pos];
  const isOp = (v: string): boolean => {
    const t = peek();
    return t !== undefined && t.t === 'op' && t.v === v;
  };
  const expect = (v: string): void => {
    if (!isOp(v)) throw new ExprError(`expected '${v}'`);
    pos++;
  };
  const num = (v: ExprValue): number => {
    if (typeof v !== 'number') throw new ExprError('arithmetic on a string');
    return v;
  };

  function primary(): ExprValue {
    const t = toks[pos++];
    if (!t) throw new ExprError('unexpected end');
    if (t.t === 'num' || t.t === 'str') return t.v;
    if (t.t === 'op' && t.v === '(') {
      const v = additive();
      expect(')');
      return v;
    }
    if (t.t === 'op' && t.v === '-') return -num(primary());
    if (t.t === 'op' && t.v === '+') return num(primary());
    if (t.t === 'id') {
      if (isOp('(')) {
        const fn = FUNCS[t.v.toLowerCase()];
        if (!fn) throw new ExprError(`unknown function ${t.v}`);
        pos++;
        const args: number[] = [];
        if (!isOp(')')) {
          args.push(num(additive()));
          while (isOp(',')) {
            pos++;
            args.push(num(additive()));
          }
        }
        expect(')');
        return fn(...args);
      }
      if (Object.prototype.hasOwnProperty.call(vars, t.v)) return vars[t.v]!;
      throw new ExprError(`unknown variable ${t.v}`);
    }
    throw new ExprError(`unexpected '${t.v}'`);
  }

  function multiplicative(): ExprValue {
    let v = primary();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = (toks[pos++] as { v: string }).v;
      const r = num(primary());
      const l = num(v);
      v = op === '*' ? l * r : op === '/' ? l / r : l % r;
    }
    return v;
  }

  function additive(): ExprValue {
    let v = multiplicative();
    while (isOp('+') || isOp('-')) {
      const op = (toks[pos++] as { v: string }).v;
      const r = num(multiplicative());
      v = op === '+' ? num(v) + r : num(v) - r;
    }
    return v;
  }

  const v = additive();
  if (pos !== toks.length) throw new ExprError('trailing input');
  if (typeof v === 'number' && !Number.isFinite(v)) throw new ExprError('not a finite number');
  return v;
}

/**
 * Evaluates a config value: numbers pass through; strings are evaluated as expressions and,
 * when they are not valid expressions (e.g. `ultrafast`, `cbr`), kept verbatim.
 */
export function evaluateLenient(src: string | number | boolean, vars: Record<string, number>): ExprValue {
  if (typeof src === 'number') return src;
  if (typeof src === 'boolean') return src ? 'true' : 'false';
  try {
    return evaluate(src, vars);
  } catch {
    return src;
  }
}

/** Evaluates a numeric config value; throws when it is not a number. */
export function evaluateNumber(src: string | number, vars: Record<string, number>): number {
  const v = typeof src === 'number' ? src : evaluate(src, vars);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ExprError(`'${src}' is not a number`);
  return v;
}
