package styletransfer

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FrameSchema is the Arrow schema of the batches of frames that flow between the decoder, the
// network and the encoder: "frame" is the frame's index in the video, "rgb" its packed RGB24
// pixels (width×height×3 bytes, row-major); the size is in the schema's metadata.
func FrameSchema(width, height int) *arrow.Schema {
	md := arrow.NewMetadata([]string{"width", "height", "pixel_format"},
		[]string{strconv.Itoa(width), strconv.Itoa(height), "rgb24"})
	return arrow.NewSchema([]arrow.Field{
		{Name: "frame", Type: arrow.PrimitiveTypes.Int64},
		{Name: "rgb", Type: &arrow.FixedSizeBinaryType{ByteWidth: width * height * 3}},
	}, &md)
}

// newFrameBatch allocates a batch of n frames numbered from first, from mem. It returns the
// batch (owned by the caller, who Releases it) and its pixel bytes, to be filled in place.
func newFrameBatch(mem memory.Allocator, schema *arrow.Schema, first int64, n int) (arrow.RecordBatch, []byte) {
	fb := schema.Field(1).Type.(*arrow.FixedSizeBinaryType).ByteWidth
	idxBuf, rgbBuf := memory.NewResizableBuffer(mem), memory.NewResizableBuffer(mem)
	idxBuf.Resize(n * 8)
	rgbBuf.Resize(n * fb)
	idx := arrow.Int64Traits.CastFromBytes(idxBuf.Bytes())
	for i := range idx {
		idx[i] = first + int64(i)
	}
	idxData := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, idxBuf}, nil, 0, 0)
	rgbData := array.NewData(schema.Field(1).Type, n, []*memory.Buffer{nil, rgbBuf}, nil, 0, 0)
	ia, ra := array.NewInt64Data(idxData), array.NewFixedSizeBinaryData(rgbData)
	rgb := rgbBuf.Bytes()
	idxData.Release()
	rgbData.Release()
	idxBuf.Release()
	rgbBuf.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{ia, ra}, int64(n))
	ia.Release()
	ra.Release()
	return rec, rgb
}

// frames returns the pixel slices of a frame batch (views into its buffer).
func frames(rec arrow.RecordBatch) [][]byte {
	col := rec.Column(1).(*array.FixedSizeBinary)
	out := make([][]byte, col.Len())
	for i := range out {
		out[i] = col.Value(i)
	}
	return out
}
