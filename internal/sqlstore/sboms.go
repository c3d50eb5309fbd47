package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"bulwark"
)

// maxSBOMComponents caps the components kept per asset: a BOM of a whole
// server image reaches a few thousand; beyond that is not a device.
const maxSBOMComponents = 50_000

// PutSBOM attaches s to its asset, replacing any earlier SBOM. Only the
// asset's owner's writers may.
func (db *DB) PutSBOM(ctx context.Context, s *bulwark.SBOM) error {
	if len(s.Components) > maxSBOMComponents {
		return bulwark.Errorf(bulwark.ETOOLARGE, "SBOM has %d components; at most %d are kept per asset", len(s.Components), maxSBOMComponents)
	}
	return db.inWrite(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		var owner string
		err = q.QueryRowContext(ctx, "SELECT owner FROM entities WHERE id = $1 AND kind = $2", s.AssetID, int(bulwark.KindAsset)).Scan(&owner)
		if err == sql.ErrNoRows || (err == nil && !sc.sees(owner)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "asset %q not found", bulwark.Truncate(s.AssetID, 128))
		}
		if err != nil {
			return db.d.mapErr("attach SBOM", err)
		}
		if !sc.owns(owner) {
			return bulwark.Errorf(bulwark.EFORBIDDEN, "asset %s belongs to %s", s.AssetID, owner)
		}
		if err := sc.canWrite("attach SBOM"); err != nil {
			return err
		}
		comps, err := json.Marshal(s.Components)
		if err != nil {
			return fmt.Errorf("encode SBOM components: %w", err)
		}
		na, err := json.Marshal(s.NotAffected)
		if err != nil {
			return fmt.Errorf("encode SBOM VEX: %w", err)
		}
		s.Owner = owner
		if s.AttachedAt.IsZero() {
			s.AttachedAt = db.now()
		}
		_, err = q.ExecContext(ctx, `INSERT INTO asset_sboms (asset_id, owner, document, serial, spec_version, hash, attached_at, components, not_affected)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (asset_id) DO UPDATE SET owner = excluded.owner, document = excluded.document, serial = excluded.serial,
				spec_version = excluded.spec_version, hash = excluded.hash, attached_at = excluded.attached_at,
				components = excluded.components, not_affected = excluded.not_affected`,
			s.AssetID, owner, bulwark.Truncate(s.Document, 500), bulwark.Truncate(s.Serial, 200), bulwark.Truncate(s.SpecVersion, 20), s.Hash,
			micros(s.AttachedAt), string(comps), string(na))
		if err != nil {
			return db.d.mapErr("attach SBOM", err)
		}
		return db.appendAudit(ctx, q, bulwark.AuditEntry{Org: sc.auditOrg(), Actor: sc.actor(), Action: "sbom.attach",
			Target: "asset:" + s.AssetID, Outcome: "ok", Detail: fmt.Sprintf("%s, %d components, sha256 %s", s.Document, len(s.Components), s.Hash)})
	})
}

const sbomCols = "asset_id, owner, document, serial, spec_version, hash, attached_at, components, not_affected"

func scanSBOM(sc interface{ Scan(...any) error }) (*bulwark.SBOM, error) {
	var s bulwark.SBOM
	var at int64
	var comps, na string
	if err := sc.Scan(&s.AssetID, &s.Owner, &s.Document, &s.Serial, &s.SpecVersion, &s.Hash, &at, &comps, &na); err != nil {
		return nil, err
	}
	s.AttachedAt = fromMicros(at)
	if err := json.Unmarshal([]byte(comps), &s.Components); err != nil {
		return nil, fmt.Errorf("decode SBOM components: %w", err)
	}
	if err := json.Unmarshal([]byte(na), &s.NotAffected); err != nil {
		return nil, fmt.Errorf("decode SBOM VEX: %w", err)
	}
	return &s, nil
}

// FindSBOM returns the SBOM of an asset the caller may see.
func (db *DB) FindSBOM(ctx context.Context, assetID string) (*bulwark.SBOM, error) {
	var out *bulwark.SBOM
	err := db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		s, err := scanSBOM(q.QueryRowContext(ctx, "SELECT "+sbomCols+" FROM asset_sboms WHERE asset_id = $1", assetID))
		if err == sql.ErrNoRows || (err == nil && !sc.sees(s.Owner)) {
			return bulwark.Errorf(bulwark.ENOTFOUND, "no SBOM attached to asset %q", bulwark.Truncate(assetID, 128))
		}
		if err != nil {
			return db.d.mapErr("read SBOM", err)
		}
		out = s
		return nil
	})
	return out, err
}

// EachSBOM streams the SBOMs the caller may see, by asset ID.
func (db *DB) EachSBOM(ctx context.Context, fn func(*bulwark.SBOM) error) error {
	return db.inRead(ctx, func(q querier) error {
		sc, err := db.scopeOf(ctx, q)
		if err != nil {
			return err
		}
		a := db.d.newArgs()
		where := ""
		if c := sc.filter(&a, "owner"); c != "" {
			where = " WHERE " + c
		}
		rows, err := q.QueryContext(ctx, "SELECT "+sbomCols+" FROM asset_sboms"+where+" ORDER BY asset_id", a.v...)
		if err != nil {
			return db.d.mapErr("read SBOMs", err)
		}
		defer rows.Close()
		for rows.Next() {
			s, err := scanSBOM(rows)
			if err != nil {
				return db.d.mapErr("read SBOMs", err)
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		return db.d.mapErr("read SBOMs", rows.Err())
	})
}
