// memlab depends on puppeteer: never download a browser (the tests use none of it).
module.exports = { skipDownload: true };
