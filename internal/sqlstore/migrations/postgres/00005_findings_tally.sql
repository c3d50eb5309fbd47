-- +goose Up
-- Summaries count open findings per asset, decision, KEV and overdue
-- (TallyFindings); this index covers that query, so it reads the index in
-- group order instead of sorting the table.
CREATE INDEX findings_tally ON findings (status, asset_id, owner, decision, kev, due);
CREATE INDEX findings_pairs ON findings (status, vuln_id, owner);

-- +goose Down
DROP INDEX findings_pairs;
DROP INDEX findings_tally;
