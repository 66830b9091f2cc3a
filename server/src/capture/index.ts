export * from './codecs.js';
export * from './rtp.js';
export * from './pipelines.js';
export * from './stream.js';
export * from './capture.js';
export { evaluate, evaluateLenient, evaluateNumber, ExprError, type ExprValue } from './expr.js';
