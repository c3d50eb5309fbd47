package report

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strings"
	"unicode/utf16"
)

// streamRE finds the body of each PDF stream object.
var streamRE = regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`)

// textShown is a crude text extractor for the PDFs this package writes, so
// the key figures can be checked on machines without pdftotext: it inflates
// each stream and decodes the string operands of Tj, which the writer emits
// as UTF-16BE for embedded TrueType fonts. It is not a general PDF parser.
func textShown(pdf []byte) string {
	var out strings.Builder
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(zr)
		if err != nil && len(content) == 0 {
			continue
		}
		for _, s := range tjStrings(content) {
			out.WriteString(decodeUTF16BE(s))
			out.WriteByte('\n')
		}
	}
	return out.String()
}

// tjStrings returns the unescaped literal strings followed by Tj.
func tjStrings(content []byte) [][]byte {
	var res [][]byte
	for i := 0; i < len(content); i++ {
		if content[i] != '(' {
			continue
		}
		var s []byte
		j := i + 1
		for ; j < len(content) && content[j] != ')'; j++ {
			c := content[j]
			if c == '\\' && j+1 < len(content) {
				j++
				switch e := content[j]; e {
				case 'n':
					c = '\n'
				case 'r':
					c = '\r'
				case 't':
					c = '\t'
				case 'b':
					c = '\b'
				case 'f':
					c = '\f'
				default:
					if e >= '0' && e <= '7' {
						v := 0
						for k := 0; k < 3 && j < len(content) && content[j] >= '0' && content[j] <= '7'; k++ {
							v = v*8 + int(content[j]-'0')
							j++
						}
						j--
						c = byte(v)
					} else {
						c = e
					}
				}
			}
			s = append(s, c)
		}
		if bytes.HasPrefix(bytes.TrimLeft(content[min(j+1, len(content)):], " "), []byte("Tj")) {
			res = append(res, s)
		}
		i = j
	}
	return res
}

func decodeUTF16BE(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}
