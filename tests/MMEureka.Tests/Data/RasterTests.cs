using MMEureka.Data;

namespace MMEureka.Tests.Data;

public class RasterTests
{
    [Fact]
    public void DigitOneHasItsShape()
    {
        var c = new Rasterizer(8, 8);
        c.Text(2, 1, "1", Palette.Ink);
        // ".#." / "##." / ".#." / ".#." / "###"
        bool Ink(int x, int y) => c.Get(x, y) == Palette.Ink;
        Assert.True(Ink(3, 1) && !Ink(2, 1) && !Ink(4, 1));
        Assert.True(Ink(2, 2) && Ink(3, 2));
        Assert.True(Ink(2, 5) && Ink(3, 5) && Ink(4, 5));
        Assert.Equal(8, Enumerable.Range(0, 64).Count(i => Ink(i % 8, i / 8)));
    }

    [Fact]
    public void ShapesCoverTheExpectedArea()
    {
        var c = new Rasterizer(20, 20);
        c.FillRect(2, 3, 5, 4, Palette.Ink);
        c.FillCircle(14, 14, 3, Palette.Grey);
        int Count(Rgb col) => Enumerable.Range(0, 400).Count(i => c.Get(i % 20, i / 20) == col);
        Assert.Equal(20, Count(Palette.Ink));
        Assert.InRange(Count(Palette.Grey), 29, 49); // pi * 3.5^2 = 38.5
        c.Line(0, 0, 19, 19, Palette.Paper);
        Assert.Equal(Palette.Paper, c.Get(10, 10));
    }

    [Fact]
    public void FontHasEveryCharacterTheImagesUse()
    {
        foreach (char ch in "0123456789ABCDPxy-+./? ") Assert.True(BitmapFont.Has(ch), $"missing '{ch}'");
        Assert.Equal(7, BitmapFont.MeasureWidth("12"));
    }

    [Fact]
    public void RngIsStableAndSplitsDiffer()
    {
        // Pinned values: a change here silently changes every dataset.
        Assert.Equal(0xE220A8397B1DCDAFUL, new Rng(0).NextULong());
        Assert.NotEqual(Rng.For(1, Split.Train, 0).NextULong(), Rng.For(1, Split.Test, 0).NextULong());
        Assert.NotEqual(Rng.For(1, Split.Train, 0).NextULong(), Rng.For(1, Split.Train, 1).NextULong());
        var r = new Rng(5);
        var counts = new int[6];
        for (int i = 0; i < 6000; i++) counts[r.Int(1, 6) - 1]++;
        Assert.All(counts, n => Assert.InRange(n, 850, 1150));
    }

    [Fact]
    public void GalleryEscapesText()
    {
        var p = new Problem("id<1>", "s", "f", "elementary", "Is 2 < 3 & 4 > 1?", "1", MMEureka.Rewards.AnswerType.Integer, null,
            ["<script>x</script>", "b"], "i.png") { Image = new Rasterizer().ToImage() };
        string html = new Gallery([p]).ToHtml();
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("Is 2 &lt; 3 &amp; 4 &gt; 1?", html);
        Assert.Contains("image-rendering:pixelated", html);
        Assert.Contains("width=\"192\"", html);
    }
}
