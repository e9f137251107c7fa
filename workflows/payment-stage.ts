import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { PaymentFacts } from '../activities/payment-activities.js';
import type { PaymentStage, PaymentState } from '../src/domain/payment.js';
import { AccountIdKey, AmountMinorKey, PaymentStageKey, StripeCustomerIdKey } from '../src/temporal/search-attributes.js';
import { describePaymentState } from './payment-details.js';

/**
 * What people see of a payment workflow, published from its state: the search attributes operators find it by
 * (PaymentStage, AmountMinor, StripeCustomerId, AccountId) and the UI's current details. One upsert per stage a
 * person can see the payment stay in (waiting, stuck, finished), carrying the facts learnt since the last one.
 */
export interface StagePublisher {
  /** Moves the payment to `stage`: an upsert when it changed (with the facts learnt meanwhile), new details always. */
  setStage(stage: PaymentStage): void;
  /** Takes up what a pass learnt (null facts leave what is known). */
  learn(facts: PaymentFacts): void;
}

export function publishStages(state: PaymentState): StagePublisher {
  /** Search-attribute values already upserted: a fact rides on the next stage change only when it is new. */
  const sent = new Map<string, unknown>();
  const pendingFacts = (): SearchAttributeUpdatePair[] =>
    [
      state.amountMinor !== null ? ({ key: AmountMinorKey, value: state.amountMinor } as SearchAttributeUpdatePair) : null,
      state.customerId ? ({ key: StripeCustomerIdKey, value: state.customerId } as SearchAttributeUpdatePair) : null,
      state.accountId ? ({ key: AccountIdKey, value: state.accountId } as SearchAttributeUpdatePair) : null,
    ].filter((pair): pair is SearchAttributeUpdatePair => pair !== null && sent.get(pair.key.name) !== pair.value);
  return {
    setStage(stage) {
      if (state.stage !== stage) {
        const changes = [{ key: PaymentStageKey, value: stage } as SearchAttributeUpdatePair, ...pendingFacts()];
        upsertSearchAttributes(changes);
        for (const c of changes) sent.set(c.key.name, c.value);
      }
      state.stage = stage;
      setCurrentDetails(describePaymentState(state));
    },
    learn(facts) {
      for (const [k, v] of Object.entries(facts) as [keyof PaymentFacts, PaymentFacts[keyof PaymentFacts]][]) {
        if (v !== null) Object.assign(state, { [k]: v });
      }
    },
  };
}
