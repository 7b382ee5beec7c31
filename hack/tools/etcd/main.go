// Command etcd is the etcd server, built from its Go module so the local test
// cluster needs no prebuilt download. The version is pinned in go.mod.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
