using MMEureka.Display;

namespace MMEureka.Tests.Display;

public class PngTests
{
    static RasterImage Noise(int w, int h, int channels, int seed)
    {
        var rng = new Random(seed);
        var px = new byte[w * h * channels];
        rng.NextBytes(px);
        // Half smooth gradient, half noise, so every filter type gets chosen somewhere.
        for (int y = 0; y < h / 2; y++)
            for (int x = 0; x < w * channels; x++) px[y * w * channels + x] = (byte)(x * 3 + y);
        return new RasterImage(w, h, channels, px);
    }

    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(48, 48, 3)]
    [InlineData(17, 5, 1)]
    [InlineData(9, 31, 4)]
    public void RoundTripIsExact(int w, int h, int c)
    {
        var img = Noise(w, h, c, w * 100 + h);
        var back = Png.Decode(Png.Encode(img));
        Assert.Equal((w, h, c), (back.Width, back.Height, back.Channels));
        Assert.Equal(img.Pixels, back.Pixels);
    }

    [Fact]
    public void Crc32MatchesKnownValue() =>
        // CRC-32 of "IEND" is the constant every PNG ends with.
        Assert.Equal(0xAE426082u, Png.Crc32("IEND"u8));

    [Fact]
    public void HeaderFieldsAreWrittenBigEndian()
    {
        var bytes = Png.Encode(RasterImage.Filled(300, 2, 10, 20, 30));
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(new byte[] { 0, 0, 1, 44, 0, 0, 0, 2, 8, 2 }, bytes[16..26]);
    }

    [Fact]
    public void CorruptFilesGiveNamedErrors()
    {
        var good = Png.Encode(Noise(8, 8, 3, 1));
        Assert.Contains("signature", Assert.Throws<PngFormatException>(() => Png.Decode(good[1..], "a.png")).Message);
        var flipped = (byte[])good.Clone();
        flipped[40] ^= 0xFF;
        var e = Assert.Throws<PngFormatException>(() => Png.Decode(flipped, "b.png"));
        Assert.StartsWith("b.png:", e.Message);
        Assert.Contains("beyond the end", Assert.Throws<PngFormatException>(() => Png.Decode(good[..30], "c.png")).Message);
        Assert.Contains("truncated", Assert.Throws<PngFormatException>(() => Png.Decode(good[..12], "d.png")).Message);
    }

    [Fact]
    public void ChwFloatsPutChannelsInPlanes()
    {
        var img = new RasterImage(2, 1, 3, [255, 0, 51, 0, 255, 102]);
        Assert.Equal(new[] { 1f, 0f, 0f, 1f, 0.2f, 0.4f }, img.ToChwFloats());
    }
}
