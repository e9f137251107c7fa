-- Up Migration
-- Any valid signed JSON is kept, exactly: `jsonb` refuses a string holding U+0000 (`\u0000`) or an unpaired
-- surrogate (`\ud800`), valid JSON that Stripe may sign (a metadata value, a description). Such an event was answered
-- 500 on every redelivery and every backfill. Now its body goes into payload_exact as the JSON text, escapes and all
-- (`\u0000` there is six ASCII characters, which `text` holds), and payload holds a stand-in with those characters
-- replaced by U+FFFD, so SQL over payload still finds the row. Readers take payload_exact when it is set
-- (src/db/jsonb-storable.ts decides); for every other row it is NULL and payload is the event.
ALTER TABLE stripe_webhook_events ADD COLUMN payload_exact text;

-- Down Migration
ALTER TABLE stripe_webhook_events DROP COLUMN payload_exact;
