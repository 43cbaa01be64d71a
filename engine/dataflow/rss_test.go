package dataflow_test

func rssChild() int { return 0 }
