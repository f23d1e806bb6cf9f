using System.Text.RegularExpressions;
using MMEureka.Display;

namespace MMEureka.Tests.Display;

public class ViewTests
{
    static RasterImage Checker(int w, int h)
    {
        var px = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) px[i * 3] = (byte)(((i % w) + (i / w)) % 2 * 255);
        return new RasterImage(w, h, 3, px);
    }

    [Fact]
    public void ImageViewEmbedsADecodablePngOfTheRightSizeScaledCrisply()
    {
        var img = Checker(6, 4);
        var html = new ImageView(img, "a <b> caption", scale: 5).ToHtml();
        var m = Regex.Match(html, "src=\"data:image/png;base64,([^\"]+)\" width=\"(\\d+)\" height=\"(\\d+)\"");
        Assert.True(m.Success, html);
        var back = Png.Decode(Convert.FromBase64String(m.Groups[1].Value));
        Assert.Equal((6, 4), (back.Width, back.Height));
        Assert.Equal(img.Pixels, back.Pixels);
        Assert.Equal("30", m.Groups[2].Value);
        Assert.Equal("20", m.Groups[3].Value);
        Assert.Contains("image-rendering:pixelated", html);
        Assert.Contains("a &lt;b&gt; caption", html);
        Assert.DoesNotContain("<b>", html);
    }

    [Fact]
    public void ImageGridHasOneFigurePerImageInTheGivenColumns()
    {
        var imgs = Enumerable.Range(1, 5).Select(i => Checker(i + 1, 3)).ToArray();
        var html = ImageView.Grid(imgs, imgs.Select((_, i) => $"#{i}"), columns: 3, scale: 2).ToHtml();
        Assert.Equal(5, Regex.Matches(html, "<figure").Count);
        Assert.Contains("repeat(3,max-content)", html);
        Assert.Contains("<figcaption", html);
        var widths = Regex.Matches(html, "width=\"(\\d+)\"").Select(x => int.Parse(x.Groups[1].Value));
        Assert.Equal([4, 6, 8, 10, 12], widths);
        Assert.Throws<ArgumentException>(() => ImageView.Grid(imgs, ["only one"]));
        Assert.Throws<ArgumentException>(() => new ImageView(new RasterImage(2, 2, 3, new byte[5])));
    }

    record Row(string Name, double Score, int Count);

    [Fact]
    public void TableFromRecordsUsesPropertiesAsColumnsAndEscapesCells()
    {
        var t = HtmlTable.From(new[] { new Row("<script>alert(1)</script>", 0.123456, 3), new Row("b & c", 1234567.0, 4) });
        Assert.Equal(["Name", "Score", "Count"], t.Columns);
        var html = t.ToHtml();
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("b &amp; c", html);
        Assert.Contains(">0.1235<", html);
        Assert.Contains(">1.235e6<", html);
        Assert.Equal(2, Regex.Matches(html, "<tr><td").Count);
    }

    [Fact]
    public void TableFromDictionariesUnionsKeysInFirstSeenOrder()
    {
        var rows = new[]
        {
            new Dictionary<string, object?> { ["step"] = 1, ["loss"] = 2.5 },
            new Dictionary<string, object?> { ["step"] = 2, ["reward"] = 0.25 },
        };
        var t = HtmlTable.From(rows);
        Assert.Equal(["step", "loss", "reward"], t.Columns);
        Assert.Null(t.Rows[1][1]);
        Assert.Equal(0.25, t.Rows[1][2]);
    }

    [Fact]
    public void TableFromAnonymousObjectsAndSeries()
    {
        var anon = HtmlTable.From(new[] { new { a = 1, b = "x" } });
        Assert.Equal(["a", "b"], anon.Columns);
        var s = HtmlTable.FromSeries("step", new[] { 0, 10 }, ("loss", new[] { 1.5, 0.75 }), ("acc", new float[] { 0.25f, 0.5f }));
        Assert.Equal(["step", "loss", "acc"], s.Columns);
        Assert.Contains(">0.75<", s.ToHtml());
        Assert.Contains(">10<", s.ToHtml());
        Assert.Throws<ArgumentException>(() => HtmlTable.FromSeries("step", new[] { 0 }, ("loss", new[] { 1.0, 2 })));
    }

    [Fact]
    public void LongTablesAreCutWithACount()
    {
        var t = HtmlTable.From(Enumerable.Range(0, 30).Select(i => new { i }), maxRows: 10);
        var html = t.ToHtml();
        Assert.Equal(10, Regex.Matches(html, "<tr><td style=\"padding:2px 8px;text-align:right\">").Count);
        Assert.Contains("20 more rows", html);
    }

    [Theory]
    [InlineData(3.0, "3")]
    [InlineData(-12.0, "-12")]
    [InlineData(0.5, "0.5")]
    [InlineData(0.123456, "0.1235")]
    [InlineData(123.456, "123.5")]
    [InlineData(1234.56, "1234.6")]
    [InlineData(2.5e-5, "2.5e-5")]
    [InlineData(3.2e7, "3.2e7")]
    [InlineData(double.NaN, "NaN")]
    public void NumbersAreCompact(double x, string expected) => Assert.Equal(expected, HtmlText.Number(x));
}
