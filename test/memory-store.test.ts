import { MemoryStore } from '../src/stores/memory-store'
import { describeStore } from './conformance/store'

describeStore('memory', (clock) => new MemoryStore({ type: 'memory' }, clock))
