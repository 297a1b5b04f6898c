package client

import (
	"context"
	"strings"
	"testing"

	"accsyn-sites/emulator"
)

// BenchmarkFindSitesEmulator measures one site/find round trip to the demo
// emulator over loopback HTTP, including encoding and decoding.
func BenchmarkFindSitesEmulator(b *testing.B) {
	srv, err := emulator.Start(emulator.Options{Memory: true, Seed: emulator.SeedDemo}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c := emulatorClient(b, srv, emulator.RoleAdmin)
	ctx := context.Background()
	if _, err := c.Login(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindSitesEmulatorParallel measures site/find from many
// goroutines sharing one client, as the SSH server's sessions do.
func BenchmarkFindSitesEmulatorParallel(b *testing.B) {
	srv, err := emulator.Start(emulator.Options{Memory: true, Seed: emulator.SeedDemo}, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c := emulatorClient(b, srv, emulator.RoleAdmin)
	ctx := context.Background()
	if _, err := c.Login(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEncodeFindEvent measures building the query string of a
// typical site/find event.
func BenchmarkEncodeFindEvent(b *testing.B) {
	ev := event{Audience: "api", Workspace: "acme", EID: "5f0e8d2c-7a1b-4c3d-9e8f-0a1b2c3d4e5f", Session: strings.Repeat("a", 64),
		URI: "site/find", Ident: "admin@local", Created: "2026-12-04T19:00:00", Hostname: "host",
		Data: []byte(`{"limit":50,"attributes":["name","code","status"]}`), Query: `status=enabled AND name contains "lab"`}
	b.ReportAllocs()
	for b.Loop() {
		raw, err := marshalJSON(ev)
		if err != nil {
			b.Fatal(err)
		}
		_ = percentEncode(string(raw))
	}
}

// BenchmarkGzipData150KiB measures packing 150 KiB of JSON into gz_data.
func BenchmarkGzipData150KiB(b *testing.B) {
	data := []byte(`{"metadata":{"blob":"` + strings.Repeat("0123456789abcdef", 150*1024/16) + `"}}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := gzipBase64(data); err != nil {
			b.Fatal(err)
		}
	}
}
