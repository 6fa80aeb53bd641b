package bench

import "testing"

func TestSummarize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values []float64
		want   Figure[float64]
	}{
		{[]float64{3}, Figure[float64]{Median: 3, Min: 3, Max: 3}},
		{[]float64{5, 1, 3}, Figure[float64]{Median: 3, Min: 1, Max: 5}},
		{[]float64{4, 1, 2, 8}, Figure[float64]{Median: 3, Min: 1, Max: 8}},
		{nil, Figure[float64]{}},
	}
	for _, tc := range cases {
		if got := summarize(tc.values); got != tc.want {
			t.Errorf("summarize(%v) = %+v, want %+v", tc.values, got, tc.want)
		}
	}
	if got, want := summarize([]int64{7, 9, 8}), (Figure[int64]{Median: 8, Min: 7, Max: 9}); got != want {
		t.Errorf("summarize of int64 = %+v, want %+v", got, want)
	}
}
