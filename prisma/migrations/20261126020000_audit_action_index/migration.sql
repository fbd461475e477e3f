-- packages/db audit log: look events up by action. The rotation job asks, for each step, whether
-- a given action already succeeded for a given target; without an index that is a scan of the
-- whole log, which grows with every issuance batch. Rotation actions are rare, so the index
-- leaves only a handful of rows to filter by target.

-- CreateIndex
CREATE INDEX "audit_event_action_idx" ON "audit_event"("action");
