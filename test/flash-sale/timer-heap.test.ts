import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TimerHeap } from '../../examples/flash-sale/storage/memory/timer-heap'

describe('TimerHeap (the in-memory delay queue)', () => {
  it('hands out exactly the due ids, earliest first, whatever the schedules and cancellations', () => {
    const operation = fc.oneof(
      fc.record({
        op: fc.constant('schedule' as const),
        id: fc.integer({ min: 0, max: 20 }),
        at: fc.integer({ min: 0, max: 100 }),
      }),
      fc.record({ op: fc.constant('cancel' as const), id: fc.integer({ min: 0, max: 20 }) }),
      fc.record({
        op: fc.constant('due' as const),
        now: fc.integer({ min: 0, max: 100 }),
        max: fc.integer({ min: 1, max: 25 }),
      }),
    )
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 80 }), (operations) => {
        const heap = new TimerHeap()
        const model = new Map<string, number>()
        for (const step of operations) {
          if (step.op === 'schedule') {
            heap.schedule(`o${step.id}`, step.at)
            model.set(`o${step.id}`, step.at)
          } else if (step.op === 'cancel') {
            heap.cancel(`o${step.id}`)
            model.delete(`o${step.id}`)
          } else {
            const due = heap.due(step.now, step.max)
            const expected = [...model.entries()].filter(([, at]) => at <= step.now)
            expect(due).toHaveLength(Math.min(step.max, expected.length))
            const times = due.map((id) => model.get(id) as number)
            expect(times.every((at) => at <= step.now)).toBe(true)
            expect([...times].sort((a, b) => a - b)).toEqual(times)
            // Nothing due was skipped in favour of something later.
            if (due.length < expected.length) {
              const latest = Math.max(...times)
              const left = expected.filter(([id]) => !due.includes(id)).map(([, at]) => at)
              expect(Math.min(...left)).toBeGreaterThanOrEqual(latest)
            }
          }
          expect(heap.size).toBe(model.size)
          const next = model.size === 0 ? undefined : Math.min(...model.values())
          expect(heap.nextAt()).toBe(next)
        }
      }),
    )
  })
})
