package results

// The PNG chart: server memory against connected clients, server CPU per
// relayed message against clients, and the relay latency distribution at the
// largest client count, each with one line per server.

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"

	"github.com/redrtc/redrtc/bench/internal/numfmt"
	"github.com/redrtc/redrtc/bench/internal/target"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var serverColors = map[string]color.Color{
	"RedRTC":           color.RGBA{R: 0xc0, G: 0x20, B: 0x20, A: 0xff},
	"baseline":         color.RGBA{R: 0x20, G: 0x50, B: 0xb0, A: 0xff},
	"external":         color.RGBA{R: 0x20, G: 0x90, B: 0x40, A: 0xff},
	target.CompareName: color.RGBA{R: 0xe0, G: 0x80, B: 0x10, A: 0xff},
	target.FloorName:   color.RGBA{R: 0x80, G: 0x80, B: 0x80, A: 0xff},
}

func colorOf(name string) color.Color {
	if c, ok := serverColors[name]; ok {
		return c
	}
	return color.Black
}

func addLine(p *plot.Plot, name, label string, pts plotter.XYs, dashed bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	l.Color = colorOf(name)
	l.Width = vg.Points(1.5)
	s.Color = colorOf(name)
	s.Shape = draw.CircleGlyph{}
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		s.Shape = draw.BoxGlyph{}
	}
	p.Add(l, s)
	p.Legend.Add(label, l, s)
	return nil
}

// countTicks labels an axis of counts as 5,000 rather than 5000.00.
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmtNum(ticks[i].Value, 0)
		}
	}
	return ticks
}

func serverNames(res *Results) []string {
	var names []string
	for _, k := range res.Servers {
		names = append(names, k.Name)
	}
	return names
}

func memoryPlot(res *Results) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Server memory vs connected clients"
	p.X.Label.Text = "connected clients (in rooms of " + fmt.Sprint(res.Settings.RoomSize) + ")"
	p.Y.Label.Text = "VmRSS (MiB)"
	p.X.Tick.Marker = countTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	for _, name := range serverNames(res) {
		var pts plotter.XYs
		empty := int64(0)
		for _, x := range res.Idle {
			if x.Server == name && x.Err == "" && x.RSSJoinedKB > 0 {
				pts = append(pts, plotter.XY{X: float64(x.Connected), Y: float64(x.RSSJoinedKB) / 1024})
				if empty == 0 || x.RSSEmptyKB < empty {
					empty = x.RSSEmptyKB
				}
			}
		}
		if empty > 0 {
			pts = append(pts, plotter.XY{X: 0, Y: float64(empty) / 1024})
		}
		sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		if err := addLine(p, name, name, pts, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func cpuPlot(res *Results) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Server CPU per relayed message"
	if res.Settings.Repeat > 1 {
		p.Title.Text += fmt.Sprintf(" (median of %d runs)", res.Settings.Repeat)
	}
	p.X.Label.Text = "clients"
	p.Y.Label.Text = "CPU µs per message"
	p.X.Tick.Marker = countTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min = 0
	top := 0.0
	for _, name := range serverNames(res) {
		for _, mode := range []string{"rate", "max"} {
			runs := map[int][]float64{} // clients: the runs' figures
			for _, x := range res.Relay {
				if x.Server == name && x.Mode == mode && x.CPUPerMsgUs > 0 {
					runs[x.Clients] = append(runs[x.Clients], x.CPUPerMsgUs)
				}
			}
			var pts plotter.XYs
			for n, vs := range runs {
				sort.Float64s(vs)
				m := median(vs)
				pts = append(pts, plotter.XY{X: float64(n), Y: m})
				top = max(top, m)
			}
			sort.Slice(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
			label := name + " @ " + fmtNum(res.Settings.Rate, 0) + " msgs/s"
			if mode == "max" {
				label = name + ", as fast as possible"
			}
			if err := addLine(p, name, label, pts, mode == "max"); err != nil {
				return nil, err
			}
		}
	}
	if top > 0 {
		p.Y.Max = top * 1.6 // room for the legend above the lines
	}
	return p, nil
}

// latencyPlot draws the percentile distribution: x is log10(1/(1-q)), so
// 90%, 99%, 99.9% are evenly spaced, and y is the latency, log scale.
func latencyPlot(res *Results) (*plot.Plot, error) {
	top := 0
	for _, x := range res.Relay {
		if x.Mode == "rate" && len(x.Percentiles) > 0 {
			top = max(top, x.Clients)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Relay latency at %s msgs/s, %s clients", fmtNum(res.Settings.Rate, 0), numfmt.Commas(top))
	if res.Settings.Repeat > 1 {
		p.Title.Text += fmt.Sprintf(" (the median run by p99 of %d)", res.Settings.Repeat)
	}
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms)"
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: 0, Label: "0%"}, {Value: 1, Label: "90%"}, {Value: 2, Label: "99%"},
		{Value: 3, Label: "99.9%"}, {Value: 4, Label: "99.99%"}, {Value: 5, Label: "99.999%"},
	}
	any := false
	for _, name := range serverNames(res) {
		// With -repeat, one run's distribution: the one whose p99 is the
		// median (the lower of the two middle ones for an even count).
		var runs []RelayResult
		for _, x := range res.Relay {
			if x.Server == name && x.Mode == "rate" && x.Clients == top && len(x.Percentiles) > 0 {
				runs = append(runs, x)
			}
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].P99us < runs[j].P99us })
		var pts plotter.XYs
		if len(runs) > 0 {
			for _, q := range runs[(len(runs)-1)/2].Percentiles {
				if q.Quantile >= 100 || q.Micros <= 0 {
					continue
				}
				pts = append(pts, plotter.XY{X: -math.Log10(1 - q.Quantile/100), Y: q.Micros / 1000})
			}
		}
		if len(pts) > 0 {
			any = true
		}
		if err := addLine(p, name, name, pts, false); err != nil {
			return nil, err
		}
	}
	if !any {
		p.Y.Scale = plot.LinearScale{}
		p.Y.Tick.Marker = plot.DefaultTicks{}
	}
	return p, nil
}

// WriteChart draws the three panels side by side into a PNG.
func WriteChart(res *Results, path string) error {
	mem, err := memoryPlot(res)
	if err != nil {
		return err
	}
	cpu, err := cpuPlot(res)
	if err != nil {
		return err
	}
	lat, err := latencyPlot(res)
	if err != nil {
		return err
	}
	const w, h = 18 * vg.Inch, 5.5 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	dc := draw.New(img)
	title := fmt.Sprintf("RedRTC benchmark %s — %s, %d cores", res.Timestamp, res.Machine.CPU, res.Machine.Cores)
	top := draw.Crop(dc, 0, 0, 0, -vg.Points(24))
	dc.FillText(draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 13), Handler: plot.DefaultTextHandler, XAlign: draw.XCenter},
		vg.Point{X: w / 2, Y: h - vg.Points(16)}, title)
	tiles := draw.Tiles{Rows: 1, Cols: 3, PadX: vg.Points(28), PadY: vg.Points(8), PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(12)}
	plots := [][]*plot.Plot{{mem, cpu, lat}}
	canvases := plot.Align(plots, tiles, top)
	for i, p := range plots[0] {
		p.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
