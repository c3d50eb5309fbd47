-- +goose Up
-- What citizens must do, in plain language ('' when they need not act).
-- The header JSON in body holds it too; the column lets the public notice
-- desk list incidents that ask the public to act without decoding bodies.
ALTER TABLE incidents ADD COLUMN public_action TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE incidents DROP COLUMN public_action;
