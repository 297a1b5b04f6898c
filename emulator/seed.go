package emulator

import (
	"fmt"
	"time"

	"accsyn-sites/model"
)

// backendCreator is the creator of what the backend makes by itself.
const backendCreator = "accsyn"

// seed fills a new store in one transaction: the workspace, the built-in
// sites and the main site hq, and for "demo" a few office and cloud sites
// with servers in every status and two transfers.
func (e *Emulator) seed(seed string) error {
	now := e.now().UTC()
	at := func(ago time.Duration) model.Time { return model.NewTime(now.Add(-ago).Truncate(time.Second)) }
	day := 24 * time.Hour
	site := func(name, code, description string, ago time.Duration, creator string) model.Site {
		return model.Site{
			ID: newID(), Name: name, Code: code, Description: description, Status: model.StatusEnabled,
			Metadata: map[string]any{}, Created: at(ago), Creator: model.ID(creator), Modified: at(ago), Modifier: model.ID(creator),
		}
	}

	accsyn := site("accsyn", model.BuiltinAccsyn, "accsyn cloud hosting", 400*day, backendCreator)
	accsyn.Accsyn = true
	roaming := site("roaming", model.BuiltinRoaming, "Users and servers outside any site", 400*day, backendCreator)
	hq := site("HQ", "hq", "Head office, main storage", 400*day, backendCreator)
	hq.Main = true
	hq.Metadata = map[string]any{"region": "eu-north", "storage_tb": float64(480)}
	sites := []model.Site{accsyn, roaming, hq}

	var servers []model.Server
	var transfers []model.Transfer
	if seed == SeedDemo {
		admin := "admin@local"
		london := site("London", "london", "London office, Soho", 200*day, admin)
		london.Metadata = map[string]any{"region": "eu-west", "storage_tb": float64(120), "contact": "ops-london@example.com"}
		stockholm := site("Stockholm", "stockholm", "Stockholm office, no servers yet", 120*day, admin)
		stockholm.Metadata = map[string]any{"region": "eu-north"}
		la := site("LA", "la", "Los Angeles office, closed for renovation", 90*day, admin)
		la.Status = model.StatusDisabled
		la.Metadata = map[string]any{"region": "us-west"}
		aws := site("aws-eu-west", "aws-eu-west", "AWS eu-west-1 burst compute", 60*day, admin)
		aws.Metadata = map[string]any{"provider": "aws", "region": "eu-west-1", "burst": true}
		tokyo := site("Tokyo", "tokyo", "Tokyo office", 30*day, admin)
		tokyo.Metadata = map[string]any{"region": "ap-northeast"}
		sites = append(sites, london, stockholm, la, aws, tokyo)

		server := func(code, description string, s model.Site, status, roles, os string, ago time.Duration) model.Server {
			checkin := at(30 * time.Second)
			if status == model.ServerOffline || status == model.ServerDisabledOffline {
				checkin = at(ago / 10)
			}
			return model.Server{
				ID: newID(), Code: code, Description: description, Site: s.ID,
				SiteHR: fmt.Sprintf("%s(%s)", s.Code, s.ID), Status: status, LastCheckin: checkin, Roles: roles,
				OS: os, Version: "3.2.1", WANIP: "", Created: at(ago), Modified: at(ago),
			}
		}
		hqSite := server("hq-site-01", "HQ site server", hq, model.ServerOnline, "storage,site", "linux", 390*day)
		hqSite.WANIP = "192.0.2.10"
		hqStorage := server("hq-storage-01", "HQ main storage", hq, model.ServerOnline, "storage", "linux", 380*day)
		hqRender := server("hq-render-01", "Old render node, switched off", hq, model.ServerDisabledOffline, "compute", "windows", 300*day)
		ldn := server("ldn-site-01", "London site server", london, model.ServerOnline, "storage,site", "linux", 190*day)
		ldn.WANIP = "198.51.100.20"
		laSite := server("la-site-01", "LA site server", la, model.ServerOffline, "storage,site", "mac", 85*day)
		awsNode := server("aws-euw-01", "Burst compute node", aws, model.ServerDisabled, "compute", "linux", 55*day)
		tyo := server("tyo-site-01", "Tokyo site server", tokyo, model.ServerOffline, "storage,site", "linux", 25*day)
		servers = []model.Server{hqSite, hqStorage, hqRender, ldn, laSite, awsNode, tyo}

		transfers = []model.Transfer{
			{
				ID: newID(), Name: "Delivery london 0142", Code: "delivery-london-0142",
				Source: "site:" + string(london.ID), SourceHR: "site:london",
				Destination: "user:" + userID("employee@local"), DestinationHR: "user:employee@local",
				Status: model.TransferRunning, Progress: 42, Size: 250 << 30, Speed: 85.5, Created: at(40 * time.Minute),
			},
			{
				ID: newID(), Name: "Sync hq to stockholm", Code: "sync-hq-stockholm",
				Source: "server:" + string(hqStorage.ID), SourceHR: "server:hq-storage-01",
				Destination: "site:" + string(stockholm.ID), DestinationHR: "site:stockholm",
				Status: model.TransferDone, Progress: 100, Size: 12 << 30, Speed: 0, Created: at(3 * day), Finished: at(3*day - 2*time.Hour),
			},
		}
	}

	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('workspace', ?), ('seed', ?), ('created', ?)`,
		e.workspace, seed, formatStoreTime(model.NewTime(now))); err != nil {
		return err
	}
	for _, s := range sites {
		if err := insertSite(tx, s); err != nil {
			return err
		}
	}
	for _, s := range servers {
		if err := insertServer(tx, s); err != nil {
			return err
		}
	}
	for _, t := range transfers {
		if err := insertTransfer(tx, t); err != nil {
			return err
		}
	}
	return tx.Commit()
}
