package projectfile

import (
	"encoding/json"
	"maps"
	"reflect"
	"strings"
)

// SchemaID is where editors find the schema: the copy checked into the
// repository (schema/kubectl-mirror.schema.json).
const SchemaID = "https://raw.githubusercontent.com/kubectl-mirror/kubectl-mirror/main/schema/kubectl-mirror.schema.json"

// durationPattern is what time.ParseDuration takes.
const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// Schema is the JSON Schema of the project file, made from File's types, so
// the file, the flags it stands for and the schema cannot drift apart.
func Schema() ([]byte, error) {
	s := schemaOf(reflect.TypeOf(File{}), "")
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "kubectl mirror project file (" + Name + ")"
	s["description"] = "Settings for `kubectl mirror run`; each key stands for the run flag of the same meaning, and flags given on the command line win."
	b, err := json.MarshalIndent(s, "", "  ")
	return append(b, '\n'), err
}

func schemaOf(t reflect.Type, doc string) map[string]any {
	s := map[string]any{}
	if doc != "" {
		s["description"] = doc
	}
	switch t.Kind() {
	case reflect.Pointer:
		maps.Copy(s, schemaOf(t.Elem(), ""))
		return s
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			p := schemaOf(f.Type, f.Tag.Get("doc"))
			if e := f.Tag.Get("enum"); e != "" {
				p["enum"] = strings.Split(e, ",")
			}
			if f.Tag.Get("format") == "duration" {
				p["pattern"] = durationPattern
			}
			props[KeyOf(f)] = p
		}
		s["type"], s["properties"], s["additionalProperties"] = "object", props, false
	case reflect.Slice:
		s["type"], s["items"] = "array", schemaOf(t.Elem(), "")
	case reflect.Map:
		s["type"], s["additionalProperties"] = "object", schemaOf(t.Elem(), "")
		if t.Key().Kind() == reflect.Int {
			s["propertyNames"] = map[string]any{"pattern": "^[0-9]+$"}
		}
	case reflect.Bool:
		s["type"] = "boolean"
	case reflect.Int:
		s["type"] = "integer"
	default:
		s["type"] = "string"
	}
	return s
}
