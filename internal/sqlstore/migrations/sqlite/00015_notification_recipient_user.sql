-- +goose Up
-- A notification meant for one user (a TLP:RED intel digest, told to the
-- individual the object names): only that user, not the colleagues who see
-- their organization's notifications, may read it. 0 for everyone else's.
ALTER TABLE notifications ADD COLUMN recipient_user INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE notifications DROP COLUMN recipient_user;
