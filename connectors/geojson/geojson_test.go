package geojson_test

import (
	"errors"
	"testing"

	"github.com/paulmach/orb"
	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/connectors/geojson"
)

func TestParseShapes(t *testing.T) {
	fc := `{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"a":1},"geometry":{"type":"Point","coordinates":[1,2]}},
 {"type":"Feature","properties":{"a":2.5,"b":"x"},"geometry":null}
]}`
	feats, err := geojson.Parse([]byte(fc))
	require.NoError(t, err)
	require.Len(t, feats, 2)
	require.Equal(t, orb.Point{1, 2}, feats[0].Geometry)
	require.Nil(t, feats[1].Geometry)
	require.Equal(t, "x", feats[1].Properties["b"])

	nd := `{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}
{"type":"Feature","properties":{},"geometry":{"type":"MultiPoint","coordinates":[[5,5]]}}
`
	feats, err = geojson.Parse([]byte(nd))
	require.NoError(t, err)
	require.Len(t, feats, 2)
	require.Equal(t, orb.MultiPoint{{5, 5}}, feats[1].Geometry)
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"syntax", "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\" \"geometry\":null}]}", "line 3, column 19"},
		{"bad geometry in second feature",
			"{\"type\":\"FeatureCollection\",\"features\":[\n {\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}},\n {\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Blob\",\"coordinates\":[1,2]}}]}",
			"feature 1: invalid GeoJSON at line 3, column 2"},
		{"not a feature", `{"type":"Topology"}`, `"Topology"`},
		{"second line of ndjson", "{\"type\":\"Feature\",\"properties\":{},\"geometry\":null}\n{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"Point\",\"coordinates\":\"x\"}}\n", "line 2"},
		{"truncated", `{"type":"FeatureCollection","features":[{"type":"Feature"`, "unexpected EOF"},
		{"empty", ``, "no features"},
		{"one-number position", `{"type":"Feature","geometry":{"type":"Point","coordinates":[1]}}`, "is not [x, y]"},
		{"flat polygon", `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[0,0],[1,1]]}}`, "Polygon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := geojson.Parse([]byte(tc.doc))
			require.Error(t, err)
			require.True(t, errors.Is(err, geojson.ErrMalformed), "%v", err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":1},"geometry":{"type":"Point","coordinates":[1,2]}}]}`))
	f.Add([]byte(`{"type":"Feature","properties":null,"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`))
	f.Add([]byte(`{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		feats, err := geojson.Parse(data)
		if err == nil && len(feats) == 0 {
			t.Fatal("no error and no features")
		}
	})
}
