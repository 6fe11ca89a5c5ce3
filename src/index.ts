export {
  type Algorithm,
  type AlgorithmState,
  type RuleParams,
  type RuleVerdict,
  type StepInput,
  type StepInto,
  type StepResult,
  stepFromStepInto,
} from './algorithm'
export type { Clock } from './clock'
export { ConfigError, type ConfigIssue } from './config/config-error'
export type {
  DianaConfig,
  NacosConfig,
  RemoteDocument,
  ResponseConfig,
  StoreConfig,
} from './config/config-schema'
export type { ConfigSource, RemoteSourceOptions } from './config/config-source'
export type { ConfigEvent, ConfigLogger, RemoteConfigSource } from './config/live-config'
export { loadConfig } from './config/load-config'
export {
  type ParseResult,
  parseConfig,
  parseConfigAsync,
  parseRemoteDocument,
  parseRemoteDocumentAsync,
} from './config/parse-config'
export type { Decision } from './decision'
export { type DeviceSecret, signDeviceId } from './device-id'
export type { Dimension } from './dimension'
export { parseDuration } from './duration'
export { createLimiter, Limiter, type LimiterEvents, type LimiterOptions } from './limiter'
export type { Logger } from './logger'
export { registerAlgorithm, registerDimension } from './registry'
export type { Rule, RuleOverride } from './rules/rule'
export { RuleError, type RuleIssue } from './rules/rule-issue'
export type { StoreOptions } from './stores/create-store'
export { DEFAULT_MEMORY_STORE_OPTIONS, MemoryStore, type MemoryStoreOptions } from './stores/memory-store'
export {
  DEFAULT_REDIS_STORE_OPTIONS,
  type FailurePolicy,
  type RedisStoreOptions,
  type StoreLogger,
} from './stores/redis/options'
export { RedisStore, type RedisStoreEvents } from './stores/redis/redis-store'
export { RedisScript, type ScriptClient } from './stores/redis/script-runner'
export type { Evaluation, EvaluationRequest, Store } from './stores/store'
export type {
  BuiltInAlgorithm,
  BuiltInDimension,
  CheckOptions,
  PeekOptions,
  RefundOptions,
  ResetOptions,
  Subject,
} from './types'
