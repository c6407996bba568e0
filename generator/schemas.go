package generator

import (
	"maps"
	"slices"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/types/schema"
)

// Schemas returns the JSON Schemas of the protocol's messages, one file each,
// as the schema command writes them.
func Schemas() (FileSet, error) {
	files, err := schema.Files()
	if err != nil {
		return nil, err
	}
	set := make(FileSet, 0, len(files))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		set = append(set, File{Path: name, Data: files[name], Mode: 0o644})
	}
	return set, nil
}
