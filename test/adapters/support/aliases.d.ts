// The npm aliases `express4` and `koa2` carry no types of their own; their APIs match the
// current majors' types closely enough for the test apps.
declare module 'express4' {
  import express from 'express'
  export default express
}
declare module 'koa2' {
  import Koa from 'koa'
  export default Koa
}
