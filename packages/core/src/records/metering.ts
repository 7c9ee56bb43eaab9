import { z } from 'zod';

/** What a sandbox is expected to cost for a duration, before it is created. */
export const meterQuoteSchema = z.object({
  credits: z.number().nonnegative(),
  rate: z.number().nonnegative(),
  unit: z.enum(['minute', 'hour']),
  breakdown: z.record(z.string(), z.number()).default({}),
});

/** What a sandbox actually cost, measured when it is destroyed. */
export const meterActualSchema = z.object({
  credits: z.number().nonnegative(),
  duration: z.number().nonnegative().describe('seconds the sandbox was alive'),
  breakdown: z.record(z.string(), z.number()).default({}),
});

/** What the manager knows about a sandbox's life when it asks an extension to meter it. */
export interface Usage {
  createdAt: Date;
  destroyedAt: Date;
}

export type MeterQuote = z.infer<typeof meterQuoteSchema>;
export type MeterActual = z.infer<typeof meterActualSchema>;
