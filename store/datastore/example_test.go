package datastore_test

import (
	"fmt"

	"github.com/sluice-ml/sluice/store/datastore"
)

func ExampleParseURI() {
	u, err := datastore.ParseURI("azblob://mystorage/images/2024/batch-7/")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.Account, u.Container, u.Path)
	fmt.Println(u.Join("cat.jpg"))
	_, err = datastore.ParseURI("azblob://mystorage/images/../secrets")
	fmt.Println(err)
	// Output:
	// mystorage images 2024/batch-7
	// azblob://mystorage/images/2024/batch-7/cat.jpg
	// bad data URI "azblob://mystorage/images/../secrets": path has an empty, "." or ".." segment
}
